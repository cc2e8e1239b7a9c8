/**
 * Wall-clock faults in the simulator (proposal 0011): nodes whose wall
 * clocks are bumped, run fast, or sit far ahead. Timers run on the virtual
 * (monotonic) clock, so no skew causes a false death; versions within the
 * skew limit converge by their vector clocks; a version stamped further
 * ahead than the limit is refused by every other node.
 */
import { describe, expect, it } from 'vitest';
import { boot, cluster, expectCleanWire, untilAgreement, winners } from './harness.js';
import type { Simulation } from '../../tools/sim/simulation.js';

const LIMIT_MS = 300_000;

function deaths(sim: Simulation): number {
  return sim.upNodes().reduce((n, x) => n + x.core.membership.members().filter((m) => m.state !== 'alive').length, 0);
}

describe('wall-clock skew in the simulator', () => {
  it('±60 s and ±300 s apart: writes spread every way, causal overwrites win everywhere, no false death', async () => {
    const sim = cluster(8, 41);
    const skews = [0, 60_000, -60_000, LIMIT_MS / 2, -LIMIT_MS / 2, 0, 0, 0];
    skews.forEach((s, i) => { sim.node(i).wallSkewMs = s; });
    await boot(sim);
    const keys: string[] = [];
    for (let i = 0; i < 8; i++) keys.push(sim.write(i).key);
    await untilAgreement(sim, 60, keys);
    // a node 150 s behind overwrites what a node 150 s ahead wrote: the later write carries the earlier one's context
    const key = keys[3] as string;
    const overwrite = sim.write(4, key);
    await untilAgreement(sim, 60, [key]);
    expect(winners(sim, key)).toEqual([overwrite.sha256]);
    for (const n of sim.upNodes()) expect(n.store.siblings(key), n.id).toHaveLength(1);
    // bumps and drift while gossip runs: nobody is declared dead or suspected
    await sim.runRounds(5);
    sim.node(1).wallSkewMs = -200_000;
    sim.node(5).wallSkewMs = 100_000;
    for (let step = 0; step < 20; step++) {
      sim.node(6).wallSkewMs += 5_000;
      await sim.runRounds(1);
    }
    expect(deaths(sim), `seed ${sim.config.seed}`).toBe(0);
    const later = [sim.write(1).key, sim.write(5).key, sim.write(6).key];
    await untilAgreement(sim, 60, later);
    for (const k of [...keys, ...later]) expect(winners(sim, k)).toHaveLength(1);
    // stepped from +290 s to -290 s: its hybrid clock keeps the lead, so its stamps run 580 s ahead of
    // its own wall clock, and still within twice the limit of every clock here
    for (const n of sim.upNodes()) n.wallSkewMs = 0;
    sim.node(7).wallSkewMs = 290_000;
    const high = sim.write(7).key;
    await untilAgreement(sim, 60, [high]);
    sim.node(7).wallSkewMs = -290_000;
    const low = [sim.write(7).key, sim.write(0).key];
    await untilAgreement(sim, 60, low);
    expect(sim.upNodes().reduce((n, x) => n + x.core.data.stats().aheadRefused, 0)).toBe(0);
    expectCleanWire(sim);
  });

  it('a node an hour ahead: every other node refuses its versions, and their own writes still reach it', async () => {
    const sim = cluster(6, 42);
    sim.node(0).wallSkewMs = 3_600_000;
    await boot(sim);
    const wild = sim.write(0);
    const sane = sim.write(3);
    await untilAgreement(sim, 40, [sane.key]);
    await sim.runRounds(20);
    for (const n of sim.upNodes().slice(1)) {
      expect(n.store.siblings(wild.key), `node ${n.index}`).toEqual([]);
      expect(n.core.data.stats().aheadRefused, `node ${n.index}`).toBeGreaterThan(0);
    }
    expect(sim.node(0).store.siblings(sane.key)[0]?.sha256).toBe(sane.sha256);
  });
});
