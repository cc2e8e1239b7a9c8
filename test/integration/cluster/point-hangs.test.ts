/**
 * A Point that hangs rather than dies: Point A's process is frozen with
 * SIGSTOP, so its kernel still accepts connections but nothing answers and
 * every heartbeat times out. The node (`--bootstrap A,B`, real processes,
 * real Redis and PostgreSQL) moves to B after its failed heartbeats, within
 * the Point's TTL, and keeps serving throughout.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { getBlob, putBlob, type ClusterNode } from '../../helpers/cluster.js';
import { pointViewOf, startPointsCluster, type PointsCluster } from '../../helpers/points.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: PointsCluster;
let node: ClusterNode;

beforeAll(async () => {
  cluster = await startPointsCluster(2);
  const [a, b] = cluster.points;
  node = await cluster.addNode(`${a!.url},${b!.url}`);
}, 120_000);

afterAll(async () => {
  // stop() sends SIGCONT before SIGTERM, so the frozen Point exits too
  await cluster?.close();
});

it('SIGSTOP of the node\'s Point: its heartbeats time out and it moves to the other Point, serving all along', { timeout: 120_000 }, async () => {
  const [a, b] = cluster.points as [typeof cluster.points[0], typeof cluster.points[0]];
  await waitFor(async () => (await pointViewOf(node)).state === 'registered', { what: 'the node to register', timeoutMs: 30_000, intervalMs: 100 });
  expect((await pointViewOf(node)).url).toBe(a.url);
  process.kill(a.proc.pid, 'SIGSTOP');
  try {
    const key = randomUUID();
    expect((await putBlob(node, key, 'while the Point hangs')).status).toBe(201);
    // heartbeats every ttl/3 = 1 s; each failure is a 2 s timeout and one quick retry; 3 in a row move it
    const moved = await waitFor(async () => {
      const view = await pointViewOf(node);
      return view.url === b.url && view.state === 'registered' ? view : undefined;
    }, { what: 'the node to move to B', timeoutMs: 60_000, intervalMs: 200 });
    expect(moved.failovers).toBe(1);
    expect(a.proc.hasExited()).toBe(false);
    expect(node.proc.hasExited()).toBe(false);
    const read = await getBlob(node, key);
    expect([read.status, read.body.toString()]).toEqual([200, 'while the Point hangs']);
    expect(node.proc.output()).toMatch(/the Point stopped answering heartbeats: moving to another Point/);
  } finally {
    process.kill(a.proc.pid, 'SIGCONT');
  }
});
