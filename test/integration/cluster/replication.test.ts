/**
 * Five real node processes on their own loopback addresses, joined through a
 * Point on real Redis and PostgreSQL: they converge, agree on every key, read
 * through, and never resurrect a delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { startCluster, waitMembership, putBlob, getBlob, versionsOf, type Cluster, type ClusterNode } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: Cluster;
let nodes: ClusterNode[];

beforeAll(async () => {
  // Full replication: these tests prove every node ends up holding every body.
  // Placement (a few owners per body) has its own suite, placement.test.ts.
  cluster = await startCluster(5, { nodeArgs: ['--replicas', 'all'] });
  nodes = cluster.nodes;
  await waitMembership(nodes);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Waits until `node` holds the version with `etag` for `key`, body included. */
async function waitHeld(node: ClusterNode, key: string, etag: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => {
    const v = await versionsOf(node, key);
    return v.status === 200 && v.json.winner?.etag === etag && v.json.winner.bodyHeld;
  }, { what: `${node.url} to hold ${key}`, timeoutMs, intervalMs: 100 });
}

describe('a five-node cluster', () => {
  it('converges on 200 blobs written across all nodes', { timeout: 120_000 }, async () => {
    const written: { key: string; etag: string }[] = [];
    // Ten clients at a time, each writing to a different node.
    for (let batch = 0; batch < 200; batch += 10) {
      await Promise.all(Array.from({ length: 10 }, async (_, j) => {
        const i = batch + j;
        const node = nodes[i % nodes.length] as ClusterNode;
        const key = randomUUID();
        const body = `blob ${i} ${'x'.repeat(i * 7)}`;
        const r = await putBlob(node, key, body);
        expect(r.status).toBe(201);
        written.push({ key, etag: `"${sha(body)}"` });
      }));
    }
    await waitFor(async () => {
      for (const n of nodes) {
        const view = (await (await request(`${n.url}/cluster`)).body.json()) as { blobs: { live: number; bodies: number } };
        if (view.blobs.live < 200 || view.blobs.bodies < 200) return false;
      }
      return true;
    }, { what: 'every node to hold all 200 blobs', timeoutMs: 60_000, intervalMs: 250 });
    for (const n of nodes) {
      for (const w of written.slice(0, 20)) {
        const v = await versionsOf(n, w.key);
        expect(v.json.winner?.etag).toBe(w.etag);
      }
    }
    // Replication lag is measured on every node (versions adopted from peers).
    for (const n of nodes) {
      const metrics = await (await request(`${n.url}/metrics`)).body.text();
      const count = Number(/^cdn_replication_lag_seconds_count (\d+)/m.exec(metrics)?.[1] ?? 0);
      expect(count).toBeGreaterThanOrEqual(150);
      const view = (await (await request(`${n.url}/cluster`)).body.json()) as { replication: { samples: number; lagMedianMs: number | null } };
      expect(view.replication.samples).toBeGreaterThan(0);
      expect(view.replication.lagMedianMs).not.toBeNull();
    }
  });

  it('a write is readable from every node at once and stored everywhere within a few rounds', async () => {
    const key = randomUUID();
    const body = Buffer.from(`read me anywhere ${randomUUID()}`);
    expect((await putBlob(nodes[0] as ClusterNode, key, body)).status).toBe(201);
    const reads = await Promise.all(nodes.map((n) => getBlob(n, key)));
    for (const r of reads) {
      expect(r.status).toBe(200);
      expect(r.body.equals(body)).toBe(true);
    }
    for (const n of nodes) await waitHeld(n, key, `"${sha(body)}"`);
  });

  it('a node serves every blob with all other nodes paused, which proves it holds them', async () => {
    const keys: { key: string; body: string }[] = [];
    for (let i = 0; i < 10; i++) {
      const key = randomUUID();
      const body = `held ${i}`;
      await putBlob(nodes[i % nodes.length] as ClusterNode, key, body);
      keys.push({ key, body });
    }
    const last = nodes[nodes.length - 1] as ClusterNode;
    for (const k of keys) await waitHeld(last, k.key, `"${sha(k.body)}"`);
    const others = nodes.slice(0, -1);
    for (const n of others) process.kill(n.proc.pid, 'SIGSTOP');
    try {
      for (const k of keys) {
        const r = await getBlob(last, k.key);
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe(k.body);
      }
    } finally {
      for (const n of others) process.kill(n.proc.pid, 'SIGCONT');
    }
    await waitMembership(nodes, 60_000);
  });

  it('concurrent writes to one key on two nodes end with the same winner and siblings on every node', async () => {
    const key = randomUUID();
    const [a, b] = [nodes[1] as ClusterNode, nodes[3] as ClusterNode];
    const [ra, rb] = await Promise.all([putBlob(a, key, 'from a'), putBlob(b, key, 'from b')]);
    expect([ra.status, rb.status]).toContain(201);
    let reference = '';
    await waitFor(async () => {
      const views = await Promise.all(nodes.map((n) => versionsOf(n, key)));
      if (views.some((v) => v.status !== 200)) return false;
      const shapes = views.map((v) => JSON.stringify([v.json.winner?.etag, (v.json.siblings ?? []).map((s) => s.etag)]));
      reference = shapes[0] as string;
      return shapes.every((s) => s === reference);
    }, { what: 'every node to agree on the winner and the siblings', timeoutMs: 60_000, intervalMs: 200 });
    const [winner, siblings] = JSON.parse(reference) as [string, string[]];
    // If the two writes were concurrent both survive as siblings; if one saw the other first, one dominates.
    expect([`"${sha('from a')}"`, `"${sha('from b')}"`]).toContain(winner);
    expect(siblings.length).toBeLessThanOrEqual(1);
    const reads = await Promise.all(nodes.map((n) => getBlob(n, key)));
    expect(new Set(reads.map((r) => r.headers.etag)).size).toBe(1);
  });

  it('DELETE does not resurrect', async () => {
    const key = randomUUID();
    await putBlob(nodes[0] as ClusterNode, key, 'short-lived');
    for (const n of nodes) await waitHeld(n, key, `"${sha('short-lived')}"`);
    const del = await request(`${(nodes[2] as ClusterNode).url}/blobs/${key}`, { method: 'DELETE' });
    await del.body.dump();
    expect(del.statusCode).toBe(204);
    await waitFor(async () => {
      const views = await Promise.all(nodes.map((n) => versionsOf(n, key)));
      return views.every((v) => v.json.deleted === true);
    }, { what: 'the tombstone to reach every node', timeoutMs: 60_000, intervalMs: 200 });
    // The old version, sent again by anyone, is dominated and changes nothing.
    for (const n of nodes) expect((await getBlob(n, key)).status).toBe(404);
    // A later write with the tombstone's context brings it back, on purpose.
    const ctx = (await getBlob(nodes[4] as ClusterNode, key)).headers['vector-clock'];
    expect(typeof ctx).toBe('string');
  });
});
