/**
 * One seed gives exactly one run: the trace (a hash of every delivery,
 * event and write, and of every node's final members and versions) is the
 * same for the same seed and differs between seeds, faults included.
 */
import { describe, expect, it } from 'vitest';
import { runStandardScenario } from '../../tools/sim/scenarios.js';
import { scheduleFault } from '../../tools/sim/faults.js';
import { boot, cluster } from './harness.js';

async function faultyRun(seed: number): Promise<string> {
  const sim = cluster(30, seed, { wire: 'json', link: { latency: { kind: 'lognormal', min: 1, median: 5, sigma: 1 }, loss: 0.05, duplicate: 0.05 } });
  await boot(sim);
  const t = sim.now;
  scheduleFault(sim, t + 1_000, { kind: 'crash', nodes: [3] });
  scheduleFault(sim, t + 2_000, { kind: 'pause', nodes: [4] });
  scheduleFault(sim, t + 3_000, { kind: 'partition' });
  scheduleFault(sim, t + 4_500, { kind: 'slow', nodes: [5], tickEvery: 3, inboundDelayMs: 400 });
  scheduleFault(sim, t + 8_000, { kind: 'heal' });
  scheduleFault(sim, t + 9_000, { kind: 'restart', nodes: [3] });
  scheduleFault(sim, t + 9_500, { kind: 'resume', nodes: [4] });
  for (let i = 0; i < 10; i++) sim.at(t + 500 * i, 'client write', () => void sim.write(sim.pick(30)));
  await sim.runRounds(20);
  return sim.finalDigest();
}

describe('determinism', () => {
  it('the standard scenario gives the same report and trace for the same seed', async () => {
    const run = () => runStandardScenario({ nodes: 24, seed: 7, keys: 20, partitionRounds: 10 });
    const [first, second] = [await run(), await run()];
    expect(first.trace).toMatch(/^[0-9a-f]{16}$/);
    expect(second).toEqual(first);
    const other = await runStandardScenario({ nodes: 24, seed: 8, keys: 20, partitionRounds: 10 });
    expect(other.trace).not.toBe(first.trace);
  });

  it('a run with loss, duplication, jitter, crashes, pauses, partitions and slow nodes replays exactly', async () => {
    const a = await faultyRun(99);
    const b = await faultyRun(99);
    expect(b).toBe(a);
    expect(await faultyRun(100)).not.toBe(a);
  });
});
