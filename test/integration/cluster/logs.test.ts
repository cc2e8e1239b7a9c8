/**
 * Regression: a node's log lines carried `"component"` three times
 * (runtime → gossip → membership each bound it again, and pino repeats a
 * rebound key). Two real nodes through a real Point, debug logs, a write that
 * replicates and a graceful leave: every line is JSON with each of
 * `component` and `part` at most once, and the membership's lines name
 * both their component and their part.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startCluster, waitMembership, putBlob, getBlob, type Cluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster(2, { nodeArgs: ['--log-level', 'debug'] });
  await waitMembership(cluster.nodes);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

const occurrences = (line: string, key: string): number => line.split(`"${key}":`).length - 1;

it('binds each log key once per line, with the part inside its component', { timeout: 120_000 }, async () => {
  const [a, b] = cluster.nodes;
  if (a === undefined || b === undefined) throw new Error('cluster did not start two nodes');
  const key = randomUUID();
  expect((await putBlob(a, key, 'logged')).status).toBe(201);
  await waitFor(async () => (await getBlob(b, key)).status === 200, { what: 'the write to reach node b', timeoutMs: 60_000, intervalMs: 100 });
  expect(await b.proc.stop(10_000)).toBe(0);

  const lines = b.proc.output().split('\n').filter((l) => l.startsWith('{'));
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(occurrences(line, 'component'), line).toBeLessThanOrEqual(1);
    expect(occurrences(line, 'part'), line).toBeLessThanOrEqual(1);
  }
  const leaving = lines.map((l) => JSON.parse(l) as { msg?: string; component?: string; part?: string }).find((l) => l.msg === 'leaving the cluster');
  expect(leaving).toMatchObject({ component: 'gossip', part: 'membership' });
});
