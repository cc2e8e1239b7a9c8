/**
 * Crashes and restarts: a node that loses its memory but keeps its store, one
 * that loses both (a replaced machine) and one paused and resumed all rejoin
 * (refuting their deaths with a higher incarnation) and catch up on every
 * write they missed.
 */
import { describe, expect, it } from 'vitest';
import { applyFault } from '../../tools/sim/faults.js';
import { preloadKeys } from '../../tools/sim/scenarios.js';
import { boot, cluster, expectCleanWire, untilAgreement, untilMembership } from './harness.js';

describe('crash and restart', () => {
  it('crashed (store kept or wiped) and paused nodes are declared dead, come back, and catch up', async () => {
    const sim = cluster(60, 31);
    preloadKeys(sim, 30);
    await boot(sim);
    const kept = sim.node(1);
    const wiped = sim.node(2);
    const paused = sim.node(3);
    applyFault(sim, { kind: 'crash', nodes: [1] });
    applyFault(sim, { kind: 'crash', nodes: [2], wipe: true });
    applyFault(sim, { kind: 'pause', nodes: [3] });
    for (let i = 0; i < 20; i++) sim.write(10 + sim.pick(50));
    // long enough for the cluster to declare all three dead
    await sim.runRounds(60);
    const view = new Map(sim.node(0).core.membership.members().map((m) => [m.id, m.state]));
    expect([view.get(kept.id), view.get(wiped.id), view.get(paused.id)]).toEqual(['dead', 'dead', 'dead']);
    expect(wiped.store.size).toBe(0);

    applyFault(sim, { kind: 'restart', nodes: [1, 2] });
    applyFault(sim, { kind: 'resume', nodes: [3] });
    await untilMembership(sim, 60);
    await untilAgreement(sim, 60);
    expect(wiped.store.size).toBe(30 + 20);
    // the restarted and resumed nodes refuted their deaths with a higher incarnation
    const after = new Map(sim.node(0).core.membership.members().map((m) => [m.id, m]));
    for (const n of [kept, wiped, paused]) expect(after.get(n.id)?.incarnation ?? 0, `node ${n.index} (seed 31)`).toBeGreaterThan(0);
    expectCleanWire(sim);
  });

  it('a node that crashes and restarts quickly (before anyone declares it dead) rejoins', async () => {
    const sim = cluster(40, 32);
    await boot(sim);
    applyFault(sim, { kind: 'crash', nodes: [5] });
    await sim.runRounds(2);
    const key = sim.write(6).key;
    applyFault(sim, { kind: 'restart', nodes: [5] });
    await untilMembership(sim, 60);
    await untilAgreement(sim, 30);
    expect(sim.node(5).store.siblings(key)).toHaveLength(1);
    expectCleanWire(sim);
  });
});
