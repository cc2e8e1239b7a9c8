/**
 * 10% message loss (and some duplication and reordering): membership and
 * data still converge, and failure detection stays quiet: SWIM's indirect
 * probes plus Lifeguard's suspicion confirmations keep false deaths bounded.
 */
import { describe, expect, it } from 'vitest';
import { DetectionWatch, VersionWatch, probeTotals } from '../../tools/sim/metrics.js';
import { link } from '../../tools/sim/profiles.js';
import { boot, cluster, expectCleanWire, untilAgreement } from './harness.js';

describe('10% message loss', () => {
  it('converges, spreads a write to everyone, and declares no healthy node dead', async () => {
    const sim = cluster(100, 41, { link: { ...link('lan', 0.1, 0.02), latency: { kind: 'uniform', min: 1, max: 40 } } });
    const detection = new DetectionWatch(sim);
    await boot(sim, 60);
    const version = sim.write(7);
    const watch = new VersionWatch(sim, version, sim.node(7));
    expect(await sim.runUntil(() => watch.everywhere(), 30 * sim.roundMs), 'seed 41').toBeDefined();
    for (let i = 0; i < 20; i++) sim.write(sim.pick(100));
    await sim.runRounds(60);
    await untilAgreement(sim, 30);
    const probes = probeTotals(sim);
    // a probe fails only when the direct and all three indirect paths lose a message
    expect(probes.failed / probes.probes).toBeLessThan(0.01);
    expect(detection.counts.falseDeaths, JSON.stringify({ ...detection.counts, ...probes })).toBe(0);
    expectCleanWire(sim);
  });
});
