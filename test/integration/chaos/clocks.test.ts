/**
 * The chaos runner's clock files on a real disk, read by the product's own
 * test clock (src/wall-clock.ts, as a node reads it): atomic writes, one file
 * per node, a skew kept across a restart with a drift's gain folded in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClockFiles, NO_SKEW } from '../../../tools/chaos/clocks.js';
import { silentLogger } from '../../../src/log.js';
import { SkewedWallClock } from '../../../src/wall-clock.js';
import { waitFor } from '../../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'gcdn-chaos-clocks-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

function nodeClock(file: string): SkewedWallClock {
  const clock = new SkewedWallClock(file, silentLogger());
  cleanups.push(() => clock.stop());
  return clock;
}

describe('the chaos clock files', () => {
  it('skew the product\'s wall clock one node at a time, written atomically, and back to real time', async () => {
    const d = await dir();
    const clocks = new ClockFiles(d, 3);
    expect(new Set([0, 1, 2].map((i) => clocks.fileFor(i))).size).toBe(3);
    // no file yet: no skew
    const node1 = nodeClock(clocks.fileFor(1));
    const node2 = nodeClock(clocks.fileFor(2));
    expect(Math.abs(node1.skewMs())).toBeLessThan(50);

    await clocks.set(1, { offsetMs: -150_000, rate: 1 });
    expect(JSON.parse(await readFile(clocks.fileFor(1), 'utf8'))).toEqual({ offsetMs: -150_000, rate: 1 });
    await waitFor(() => Math.abs(node1.skewMs() + 150_000) < 50, { what: 'node 1 to read its bump', timeoutMs: 5000 });
    expect(Math.abs(node2.skewMs())).toBeLessThan(50);
    // only the files themselves: every temp file was renamed into place
    expect((await readdir(d)).sort()).toEqual(['clock-1.json']);

    await clocks.set(1, NO_SKEW);
    await waitFor(() => Math.abs(node1.skewMs()) < 50, { what: 'node 1 back on real time', timeoutMs: 5000 });
  });

  it('keeps a drift across a restart: the gain so far goes into the offset the restarted node reads', async () => {
    const clocks = new ClockFiles(await dir(), 1);
    await clocks.set(0, { offsetMs: 0, rate: 3 });
    const before = nodeClock(clocks.fileFor(0));
    await waitFor(() => before.skewMs() >= 400, { what: 'the drift to gain 400 ms', timeoutMs: 5000, intervalMs: 20 });
    before.stop();
    // the node is killed and starts again
    await clocks.beforeStart(0);
    const written = JSON.parse(await readFile(clocks.fileFor(0), 'utf8')) as { offsetMs: number; rate: number };
    expect(written.rate).toBe(3);
    expect(written.offsetMs).toBeGreaterThanOrEqual(400);
    // Its start-up takes a while (here 1 s) before it reads the file: it misses what the drift gained meanwhile (2 s at 3x)
    // until afterStart rewrites the file. What is left is what the drift gains while the node polls (200 ms, 400 ms at 3x).
    const folded = Date.now();
    await waitFor(() => Date.now() - folded >= 1000, { what: 'the start-up', timeoutMs: 5000, intervalMs: 10 });
    const after = nodeClock(clocks.fileFor(0));
    expect(after.skewMs()).toBeGreaterThanOrEqual(written.offsetMs);
    expect(clocks.expectedSkewMs(0) - after.skewMs()).toBeGreaterThanOrEqual(2000);
    await clocks.afterStart(0);
    await waitFor(() => Math.abs(after.skewMs() - clocks.expectedSkewMs(0)) < 800, { what: 'the restarted node to catch up with its drift', timeoutMs: 5000, intervalMs: 20 });
    await clocks.resetAll();
    await waitFor(() => Math.abs(after.skewMs()) < 50, { what: 'the restarted node back on real time', timeoutMs: 5000 });
  });
});
