/**
 * Membership and data converge on a simulated cluster running the real
 * protocol core with production timing; every message is checked against the
 * wire schema on the way.
 */
import { describe, expect, it } from 'vitest';
import { roundBounds, VersionWatch } from '../../tools/sim/metrics.js';
import { preloadKeys } from '../../tools/sim/scenarios.js';
import { boot, cluster, expectCleanWire, untilAgreement } from './harness.js';

describe('a 200-node cluster', () => {
  it('learns every member, spreads writes within the dissemination bound, and agrees on every key', async () => {
    const sim = cluster(200, 11);
    preloadKeys(sim, 50);
    const membershipRounds = await boot(sim, 40);
    expect(membershipRounds).toBeLessThanOrEqual(roundBounds(200).target);

    // one write: metadata everywhere within 3·log2 N rounds (rumor hops too), bodies follow
    const writer = sim.pick(200);
    const version = sim.write(writer);
    const watch = new VersionWatch(sim, version, sim.node(writer));
    const ms = await sim.runUntil(() => watch.everywhere(), 30 * sim.roundMs);
    expect(ms, `seed ${sim.config.seed}`).toBeDefined();
    expect((ms ?? 0) / sim.roundMs).toBeLessThanOrEqual(roundBounds(200).target);
    expect(watch.maxHops()).toBeLessThanOrEqual(roundBounds(200).target);
    expect(await sim.runUntil(() => watch.bodiesPlaced(), 30 * sim.roundMs)).toBeDefined();

    // a burst of writes on many nodes, then everything agrees (preloaded keys included)
    for (let i = 0; i < 40; i++) sim.write(sim.pick(200));
    await untilAgreement(sim, 30);
    expect(sim.upNodes().every((n) => n.store.size === 50 + 41)).toBe(true);
    expectCleanWire(sim);
  });
});
