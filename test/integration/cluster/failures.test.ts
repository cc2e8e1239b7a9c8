/**
 * Failures on a real cluster: kill -9 and restart, SIGSTOP pauses (suspect,
 * dead, refuted on resume), and the Point going away while writes continue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import { startCluster, waitMembership, putBlob, getBlob, versionsOf, clusterView, type Cluster, type ClusterNode } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: Cluster;

beforeAll(async () => {
  // Full replication: catching up is checked as "every node holds every body".
  cluster = await startCluster(4, { nodeArgs: ['--replicas', 'all'] });
  await waitMembership(cluster.nodes);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

const sha = (b: string): string => createHash('sha256').update(b).digest('hex');

async function waitHeldEverywhere(nodes: ClusterNode[], key: string, body: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => {
    for (const n of nodes) {
      const v = await versionsOf(n, key);
      if (v.status !== 200 || v.json.winner?.etag !== `"${sha(body)}"` || !v.json.winner.bodyHeld) return false;
    }
    return true;
  }, { what: `${key} on every node`, timeoutMs, intervalMs: 150 });
}

describe('failures', () => {
  it('a node killed with kill -9 and restarted catches up on what it missed', async () => {
    const victim = cluster.nodes[3] as ClusterNode;
    const before = randomUUID();
    await putBlob(cluster.nodes[0] as ClusterNode, before, 'before the crash');
    await waitHeldEverywhere(cluster.nodes, before, 'before the crash');
    await victim.proc.kill9();
    const missed: string[] = [];
    for (let i = 0; i < 10; i++) {
      const key = randomUUID();
      await putBlob(cluster.nodes[i % 3] as ClusterNode, key, `missed ${i}`);
      missed.push(key);
    }
    const back = await cluster.restartNode(victim);
    for (const [i, key] of missed.entries()) await waitHeldEverywhere([back], key, `missed ${i}`, 60_000);
    expect((await getBlob(back, before)).body.toString()).toBe('before the crash');
    await waitMembership(cluster.nodes, 60_000);
  });

  it('a paused node is suspected, then declared dead, and refutes this when resumed', async () => {
    const paused = cluster.nodes[2] as ClusterNode;
    const watcher = cluster.nodes[0] as ClusterNode;
    const incarnationBefore = (await clusterView(cluster.nodes[1] as ClusterNode)).peers.find((p) => p.id === paused.id)?.incarnation ?? 0;
    process.kill(paused.proc.pid, 'SIGSTOP');
    try {
      const seen = new Set<string>();
      await waitFor(async () => {
        const state = (await clusterView(watcher)).peers.find((p) => p.id === paused.id)?.state;
        if (state !== undefined) seen.add(state);
        return state === 'dead';
      }, { what: 'the paused node to be declared dead', timeoutMs: 60_000, intervalMs: 50 });
      expect(seen.has('suspect') || seen.has('dead')).toBe(true);
    } finally {
      process.kill(paused.proc.pid, 'SIGCONT');
    }
    await waitFor(async () => {
      const peer = (await clusterView(watcher)).peers.find((p) => p.id === paused.id);
      return peer?.state === 'alive' && peer.incarnation > incarnationBefore;
    }, { what: 'the resumed node to refute with a higher incarnation', timeoutMs: 60_000, intervalMs: 100 });
    await waitMembership(cluster.nodes, 60_000);
  });

  it('keeps replicating while the Point is down, and a restarted node finds its peers from its saved list', async () => {
    // Let every node save its peer list (it does so every 30 s and on a graceful stop).
    const restarted = cluster.nodes[0] as ClusterNode;
    await restarted.proc.stop();
    await cluster.point.proc.stop();
    try {
      const again = await cluster.restartNode(restarted);
      const key = randomUUID();
      await putBlob(cluster.nodes[1] as ClusterNode, key, 'no point needed');
      await waitHeldEverywhere(cluster.nodes, key, 'no point needed', 60_000);
      const other = randomUUID();
      await putBlob(again, other, 'from the restarted node');
      await waitHeldEverywhere(cluster.nodes, other, 'from the restarted node', 60_000);
    } finally {
      await cluster.restartPoint();
    }
  });

  it('a node stopped with SIGTERM leaves: peers see it as left and the Point drops it', async () => {
    const leaving = cluster.nodes[3] as ClusterNode;
    const watcher = cluster.nodes[0] as ClusterNode;
    await waitMembership(cluster.nodes, 60_000);
    expect(await leaving.proc.stop()).toBe(0);
    await waitFor(async () => (await clusterView(watcher)).peers.find((p) => p.id === leaving.id)?.state === 'left',
      { what: 'peers to see the node as left', timeoutMs: 60_000, intervalMs: 100 });
    const res = await fetch(`${cluster.point.url}/healthz`);
    expect(res.ok).toBe(true);
    // The Point no longer vouches for it: a check by a live node says 404.
    const { PointClient } = await import('../../../src/bootstrap/client.js');
    const { generateIdentity } = await import('../../../src/identity/keystore.js');
    const probe = new PointClient({ url: cluster.point.url, localAddress: '127.0.0.250' });
    const me = generateIdentity();
    const reg = await probe.reg({ port: 9, ...me });
    await expect(probe.check(reg.key, leaving.id)).rejects.toMatchObject({ code: 'POINT_ERR_NOT_FOUND' });
    await probe.remove(reg.key, me.id);
    await probe.close();
  });
});
