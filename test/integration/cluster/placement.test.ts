/**
 * Placement on real node processes and real disks (proposals/0010-placement.md):
 * each body on R owners chosen by rendezvous hashing, any node serving any
 * blob, rebalancing after a death and a join, zones, write copies that
 * survive a wiped disk, and a deleted key that stays deleted when a node
 * away past the grace period returns with the old version.
 *
 * Nodes run the local-test profile: a member dead for 5 s stops owning
 * (placement hand-off delay), custody sweeps every 500 ms and starts
 * fetching 1 s after start, a write with --write-copies waits 5 s for owners.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { request } from 'undici';
import { startCluster, waitMembership, putBlob, getBlob, type Cluster, type ClusterNode } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

interface Held {
  owners: string[];
  holders: string[];
}

interface PlacementView {
  members: number;
  owned: { bodies: number; bytes: number };
  cached: { bodies: number; bytes: number };
  handoff: { bodies: number; bytes: number };
  missing: { bodies: number; bytes: number };
}

async function placementOf(node: ClusterNode): Promise<PlacementView> {
  const res = await request(`${node.url}/cluster`, { headersTimeout: 5000, bodyTimeout: 5000 });
  return ((await res.body.json()) as { placement: PlacementView }).placement;
}

/** A node's cdn_gossip_body_bytes_total for one direction. */
async function bodyBytes(node: ClusterNode, direction: string): Promise<number> {
  const text = await (await request(`${node.url}/metrics`)).body.text();
  return Number(new RegExp(`^cdn_gossip_body_bytes_total\\{direction="${direction}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

async function versionsJson(node: ClusterNode, key: string): Promise<{ status: number; owners: string[]; bodyHeld: boolean; deleted: boolean }> {
  const res = await request(`${node.url}/blobs/${key}/versions`, { headersTimeout: 5000, bodyTimeout: 5000 });
  if (res.statusCode !== 200) {
    await res.body.dump();
    return { status: res.statusCode, owners: [], bodyHeld: false, deleted: false };
  }
  const json = (await res.body.json()) as { deleted?: boolean; winner?: { owners?: string[]; bodyHeld: boolean } };
  return { status: 200, owners: json.winner?.owners ?? [], bodyHeld: json.winner?.bodyHeld ?? false, deleted: json.deleted === true };
}

/** Who owns `key`'s body (as `viewer` computes it) and which of `nodes` hold it. */
async function heldBy(viewer: ClusterNode, nodes: readonly ClusterNode[], key: string): Promise<Held> {
  const owners = (await versionsJson(viewer, key)).owners;
  const holders: string[] = [];
  for (const n of nodes) if ((await versionsJson(n, key)).bodyHeld) holders.push(n.id);
  return { owners: [...owners].sort(), holders: holders.sort() };
}

/** Every key held by exactly its owners, every owner among `nodes`, every node agreeing on the owners. */
async function exactlyOnOwners(nodes: readonly ClusterNode[], keys: readonly string[], replicas: number): Promise<boolean> {
  const ids = new Set(nodes.map((n) => n.id));
  for (const key of keys) {
    const views = await Promise.all(nodes.map((n) => versionsJson(n, key)));
    const owners = [...(views[0]?.owners ?? [])].sort();
    if (owners.length !== replicas || !owners.every((o) => ids.has(o))) return false;
    for (const [i, v] of views.entries()) {
      if (JSON.stringify([...v.owners].sort()) !== JSON.stringify(owners)) return false;
      if (v.bodyHeld !== owners.includes((nodes[i] as ClusterNode).id)) return false;
    }
  }
  return true;
}

/** A reader that GETs random blobs from random nodes until stopped, recording every failure. */
function readLoop(nodes: () => readonly ClusterNode[], blobs: ReadonlyMap<string, Buffer>): { stop: () => Promise<{ reads: number; failures: string[] }> } {
  const keys = [...blobs.keys()];
  let running = true;
  let reads = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const list = nodes();
      const node = list[Math.floor(Math.random() * list.length)] as ClusterNode;
      const key = keys[Math.floor(Math.random() * keys.length)] as string;
      try {
        const r = await getBlob(node, key);
        if (r.status !== 200 || !r.body.equals(blobs.get(key) as Buffer)) failures.push(`${node.url} ${key}: ${r.status}`);
      } catch (err) {
        failures.push(`${node.url} ${key}: ${(err as Error).message}`);
      }
      reads++;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { reads, failures };
    },
  };
}

async function writeAll(nodes: readonly ClusterNode[], count: number, size: number): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  for (let batch = 0; batch < count; batch += 10) {
    await Promise.all(Array.from({ length: Math.min(10, count - batch) }, async (_, j) => {
      const i = batch + j;
      const key = randomUUID();
      const body = randomBytes(size);
      const r = await putBlob(nodes[i % nodes.length] as ClusterNode, key, body);
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      blobs.set(key, body);
    }));
  }
  return blobs;
}

describe('six nodes, R=2, more data than any one disk holds', () => {
  // 300 blobs of 6,000 bytes = 1.8 MB written, 3.6 MB stored; every node's quota is 1400KB (1,433,600 bytes).
  // Each node owns a body with probability 2/6, so its count is Binomial(300, 1/3): mean 100,
  // sd 8.2. The 0.6x-1.4x band (60..140) is 4.9 sd wide each side: all six inside with
  // probability 1 - 6e-6. A node also holds, until the owners confirm, the ~50 bodies written
  // to it that it does not own: ~1.1 MB at most, under the quota.
  const COUNT = 300;
  const SIZE = 6000;
  const R = 2;
  let cluster: Cluster;
  let blobs: Map<string, Buffer>;
  let live: ClusterNode[];
  let readsDuring: { reads: number; failures: string[] } = { reads: 0, failures: [] };

  beforeAll(async () => {
    cluster = await startCluster(6, { nodeArgs: ['--replicas', String(R), '--quota', '1400KB', '--cache-size', '0'] });
    live = [...cluster.nodes];
    await waitMembership(live);
    blobs = await writeAll(live, COUNT, SIZE);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('every blob is readable from every node, each body sits on exactly its 2 owners, and each node owns 0.6x-1.4x its fair share', { timeout: 180_000 }, async () => {
    for (const n of live) {
      for (const [key, body] of blobs) {
        const r = await getBlob(n, key);
        expect(r.status, `${n.url} ${key}`).toBe(200);
        expect(r.body.equals(body), `${n.url} ${key}`).toBe(true);
      }
    }
    // a non-owner with no cache answered those reads by streaming from an owner: counted as streamed
    for (const n of live) expect(await bodyBytes(n, 'streamed'), n.url).toBeGreaterThan(0);
    await waitFor(async () => exactlyOnOwners(live, [...blobs.keys()], R), { what: 'every body on exactly its owners', timeoutMs: 90_000, intervalMs: 500 });
    const fair = (R / live.length) * COUNT * SIZE;
    for (const n of live) {
      const p = await placementOf(n);
      expect(p.members).toBe(6);
      expect(p.cached.bodies).toBe(0);
      expect(p.handoff.bodies).toBe(0);
      expect(p.owned.bytes / fair, `${n.url} owns ${p.owned.bytes} bytes, fair share ${fair}`).toBeGreaterThanOrEqual(0.6);
      expect(p.owned.bytes / fair, `${n.url} owns ${p.owned.bytes} bytes, fair share ${fair}`).toBeLessThanOrEqual(1.4);
    }
    const total = (await Promise.all(live.map(placementOf))).reduce((sum, p) => sum + p.owned.bodies, 0);
    expect(total).toBe(COUNT * R);
  });

  it('after kill -9 of an owner its blobs stay readable from every node, and new owners hold them within the bound', { timeout: 180_000 }, async () => {
    const victim = live[5] as ClusterNode;
    const theirs: string[] = [];
    for (const key of blobs.keys()) if ((await heldBy(live[0] as ClusterNode, [victim], key)).holders.length > 0) theirs.push(key);
    expect(theirs.length).toBeGreaterThan(0);
    await victim.proc.kill9();
    live = live.slice(0, 5);
    const reader = readLoop(() => live, blobs);
    try {
      // Bound: suspicion and death (a few seconds in local-test) + the 5 s hand-off delay + custody
      // sweeps and fetches. 90 s leaves room for a loaded 2-core machine.
      await waitFor(async () => exactlyOnOwners(live, theirs, R), { what: "the dead owner's bodies on their new owners", timeoutMs: 90_000, intervalMs: 500 });
    } finally {
      // stopped either way; its verdict comes after, so a failed wait is not hidden by it
      readsDuring = await reader.stop();
    }
    expect(readsDuring.failures, readsDuring.failures.slice(0, 5).join('\n')).toEqual([]);
    expect(readsDuring.reads).toBeGreaterThan(0);
    for (const key of theirs) {
      const { owners } = await heldBy(live[0] as ClusterNode, live, key);
      expect(owners).not.toContain(victim.id);
    }
    expect(await exactlyOnOwners(live, [...blobs.keys()], R)).toBe(true);
  });

  it('a node that joins takes its share, and no blob is unreadable while bodies move', { timeout: 180_000 }, async () => {
    // Readers use the newcomer once it knows every key (a node that has not yet heard of a key
    // answers 404 for it: metadata arrives first, then bodies move).
    let readable = live;
    const reader = readLoop(() => readable, blobs);
    let joined: ClusterNode | undefined;
    try {
      joined = await cluster.addNode(6, []);
      live = [...live, joined];
      const newcomer = joined;
      await waitFor(async () => {
        const res = await request(`${newcomer.url}/cluster`);
        return ((await res.body.json()) as { blobs: { live: number } }).blobs.live >= COUNT;
      }, { what: 'the newcomer to know every key', timeoutMs: 60_000, intervalMs: 250 });
      readable = live;
      await waitMembership(live);
      await waitFor(async () => exactlyOnOwners(live, [...blobs.keys()], R), { what: 'every body on exactly its owners after the join', timeoutMs: 90_000, intervalMs: 500 });
    } finally {
      readsDuring = await reader.stop();
    }
    expect(readsDuring.failures, readsDuring.failures.slice(0, 5).join('\n')).toEqual([]);
    expect(readsDuring.reads).toBeGreaterThan(0);
    const p = await placementOf(joined);
    expect(p.members).toBe(6);
    expect(p.owned.bodies).toBeGreaterThan(0);
    // its share of 300 bodies on 6 live nodes, R=2 (see the band above)
    expect(p.owned.bodies).toBeGreaterThanOrEqual(60);
    expect(p.owned.bodies).toBeLessThanOrEqual(140);
  });
});

describe('three zones of two nodes, R=3', () => {
  let cluster: Cluster;
  const zoneOf = new Map<string, string>();

  beforeAll(async () => {
    cluster = await startCluster(0, { nodeArgs: ['--replicas', '3', '--cache-size', '0'] });
    for (let i = 0; i < 6; i++) {
      const zone = ['a', 'b', 'c'][i % 3] as string;
      const node = await cluster.addNode(i, ['--zone', zone]);
      zoneOf.set(node.id, zone);
    }
    await waitMembership(cluster.nodes);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('every key has one owner in each zone, and its body is held there', { timeout: 120_000 }, async () => {
    const blobs = await writeAll(cluster.nodes, 30, 2000);
    await waitFor(async () => exactlyOnOwners(cluster.nodes, [...blobs.keys()], 3), { what: 'every body on its three owners', timeoutMs: 60_000, intervalMs: 500 });
    for (const key of blobs.keys()) {
      const { owners } = await versionsJson(cluster.nodes[0] as ClusterNode, key);
      expect(owners.map((o) => zoneOf.get(o)).sort(), key).toEqual(['a', 'b', 'c']);
    }
  });
});

describe('the edge cache (--cache-size)', () => {
  let cluster: Cluster;
  const CACHE = 25_000;

  beforeAll(async () => {
    cluster = await startCluster(3, { nodeArgs: ['--replicas', '1', '--cache-size', String(CACHE)] });
    await waitMembership(cluster.nodes);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('a read on a non-owner keeps the body as cache, bounded, least recently read evicted first, owners untouched', { timeout: 120_000 }, async () => {
    const [writer, reader] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const blobs = await writeAll([writer], 9, 10_000);
    await waitFor(async () => {
      for (const key of blobs.keys()) {
        const { owners } = await versionsJson(reader, key);
        const owner = cluster.nodes.find((n) => n.id === owners[0]);
        if (owner === undefined || !(await versionsJson(owner, key)).bodyHeld) return false;
      }
      return true;
    }, { what: 'every body on its owner', timeoutMs: 60_000, intervalMs: 200 });
    // Three blobs the reader does not own (each body has one owner here).
    const foreign: string[] = [];
    for (const key of blobs.keys()) {
      const { owners } = await versionsJson(reader, key);
      if (owners.length === 1 && owners[0] !== reader.id) foreign.push(key);
    }
    expect(foreign.length, 'with 9 bodies and 3 nodes the reader owns fewer than 7').toBeGreaterThanOrEqual(3);
    const [x1, x2, x3] = foreign as [string, string, string];
    const read = async (key: string): Promise<void> => {
      const r = await getBlob(reader, key);
      expect(r.status).toBe(200);
      expect(r.body.equals(blobs.get(key) as Buffer)).toBe(true);
    };
    const held = async (key: string): Promise<boolean> => (await versionsJson(reader, key)).bodyHeld;
    await read(x1);
    await read(x2);
    await waitFor(async () => await held(x1) && await held(x2), { what: 'two read bodies in the cache', timeoutMs: 30_000, intervalMs: 100 });
    await read(x1); // x1 is now the most recently read: x2 goes first
    await read(x3);
    await waitFor(async () => await held(x3), { what: 'the third read body in the cache', timeoutMs: 30_000, intervalMs: 100 });
    expect(await held(x1)).toBe(true);
    expect(await held(x2)).toBe(false);
    // /cluster's counts are those of the last custody sweep (every 500 ms here)
    await waitFor(async () => (await placementOf(reader)).cached.bodies === 2, { what: "the reader's sweep to count two cached bodies", timeoutMs: 30_000, intervalMs: 100 });
    expect((await placementOf(reader)).cached.bytes).toBeLessThanOrEqual(CACHE);
    // The evicted body is still on its owner and still readable here (streamed again).
    await read(x2);
    for (const key of [x1, x2, x3]) {
      const { owners } = await versionsJson(reader, key);
      const owner = cluster.nodes.find((n) => n.id === owners[0]) as ClusterNode;
      expect((await versionsJson(owner, key)).bodyHeld, key).toBe(true);
    }
  });
});

describe('--write-copies 2', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(4, { nodeArgs: ['--replicas', '2', '--write-copies', '2', '--cache-size', '0'] });
    await waitMembership(cluster.nodes);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('a write acknowledged by one node survives that node dying with its disk wiped at once', { timeout: 150_000 }, async () => {
    const writer = cluster.nodes[0] as ClusterNode;
    const key = randomUUID();
    const body = randomBytes(3 * 1024 * 1024);
    const put = await putBlob(writer, key, body);
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    await writer.proc.kill9();
    await rm(writer.dataDir, { recursive: true, force: true });
    const survivors = cluster.nodes.slice(1);
    await waitFor(async () => {
      for (const n of survivors) {
        const r = await getBlob(n, key);
        if (r.status !== 200 || !r.body.equals(body)) return false;
      }
      return true;
    }, { what: 'the write served by every survivor', timeoutMs: 90_000, intervalMs: 500 });
    expect(createHash('sha256').update((await getBlob(survivors[0] as ClusterNode, key)).body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    // the copy made before the acknowledgement is counted where it was received
    const staged = (await Promise.all(survivors.map((n) => bodyBytes(n, 'staged_received')))).reduce((a, b) => a + b, 0);
    expect(staged).toBeGreaterThanOrEqual(body.length);
  });

  it('with no other node able to take a copy the PUT is 503 CDN_ERR_TOO_FEW_COPIES and nothing becomes visible', { timeout: 120_000 }, async () => {
    const alive = cluster.nodes.slice(1);
    await waitFor(async () => (await placementOf(alive[0] as ClusterNode)).members === 3, { what: 'the dead writer out of placement', timeoutMs: 60_000, intervalMs: 250 });
    const [writer, ...others] = alive as [ClusterNode, ...ClusterNode[]];
    const key = randomUUID();
    for (const n of others) process.kill(n.proc.pid, 'SIGSTOP');
    let res: { status: number; json: Record<string, unknown> };
    try {
      res = await putBlob(writer, key, randomBytes(100_000));
    } finally {
      for (const n of others) process.kill(n.proc.pid, 'SIGCONT');
    }
    expect(res.status).toBe(503);
    expect((res.json.error as { code: string }).code).toBe('CDN_ERR_TOO_FEW_COPIES');
    await waitMembership(alive);
    // A write that reaches its owners afterwards shows the nodes are talking again; the refused one is still nowhere.
    const later = randomUUID();
    expect((await putBlob(writer, later, 'after the refusal')).status).toBe(201);
    await waitFor(async () => {
      for (const n of alive) if ((await versionsJson(n, later)).status !== 200) return false;
      return true;
    }, { what: 'a later write to reach every node', timeoutMs: 60_000, intervalMs: 250 });
    for (const n of alive) {
      expect((await getBlob(n, key)).status, n.url).toBe(404);
      expect((await versionsJson(n, key)).status, n.url).toBe(404);
    }
  });
});

describe('a deleted key and a node away past the tombstone grace', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(3, { nodeArgs: ['--tombstone-grace', '4000', '--tombstone-sweep', '500'] });
    await waitMembership(cluster.nodes);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('stays deleted when the node returns with the old version', { timeout: 180_000 }, async () => {
    const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const key = randomUUID();
    expect((await putBlob(a, key, 'to be deleted')).status).toBe(201);
    await waitFor(async () => {
      for (const n of cluster.nodes) if (!(await versionsJson(n, key)).bodyHeld) return false;
      return true;
    }, { what: 'the blob on every node', timeoutMs: 60_000, intervalMs: 200 });
    await c.proc.kill9();
    const del = await request(`${a.url}/blobs/${key}`, { method: 'DELETE' });
    await del.body.dump();
    expect(del.statusCode).toBe(204);
    // A and B collect the tombstone once it is older than the grace and both hold it (C is dead, not live).
    await waitFor(async () => (await versionsJson(a, key)).status === 404 && (await versionsJson(b, key)).status === 404,
      { what: 'the tombstone collected on A and B', timeoutMs: 90_000, intervalMs: 250 });
    const back = await cluster.restartNode(c);
    // C still holds the live version on disk. It rejoins pull-only: until a witness vouches for
    // the key it neither offers it to peers nor serves it (503, retry), and when two witnesses
    // say they do not know it, it forgets it.
    const served: string[] = [];
    await waitFor(async () => {
      for (const n of [a, b, back]) {
        const r = await getBlob(n, key);
        if (r.status === 200 || (r.status !== 404 && n !== back)) served.push(`${n.url}: ${r.status}`);
        if (r.status !== 200 && r.status !== 404) expect(r.headers['retry-after'], `${n.url}: ${r.status}`).toBe('1');
      }
      return (await versionsJson(back, key)).status === 404;
    }, { what: 'the returning node to forget the deleted key', timeoutMs: 90_000, intervalMs: 200 });
    expect(served).toEqual([]);
    const metrics = await (await request(`${back.url}/metrics`)).body.text();
    expect(Number(/^cdn_gossip_events_total\{event="rejoinKeysForgotten"\} (\d+)/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
    // And a later write that every node sees shows anti-entropy ran meanwhile without bringing it back.
    const later = randomUUID();
    expect((await putBlob(back, later, 'after the return')).status).toBe(201);
    await waitFor(async () => (await versionsJson(a, later)).status === 200 && (await versionsJson(b, later)).status === 200,
      { what: 'a later write to reach A and B', timeoutMs: 60_000, intervalMs: 200 });
    for (const n of [a, b, back]) {
      expect((await getBlob(n, key)).status, n.url).toBe(404);
      expect((await versionsJson(n, key)).status, n.url).toBe(404);
    }
  });
});
