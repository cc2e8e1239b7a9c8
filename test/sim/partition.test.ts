/**
 * Partitions: writes on both sides of a cut (the same keys, concurrently, and
 * keys of their own) end, once it heals, with every node holding the same
 * sibling set, so the same winner, for every key.
 */
import { describe, expect, it } from 'vitest';
import { applyFault, type Fault, type Split } from '../../tools/sim/faults.js';
import { membershipComplete } from '../../tools/sim/metrics.js';
import type { Simulation } from '../../tools/sim/simulation.js';
import { boot, cluster, expectCleanWire, untilAgreement, untilMembership, winners } from './harness.js';

/** Writes `n` keys on both sides and `n` on each side alone; returns every key written. */
function writeOnBothSides(sim: Simulation, split: Split, n: number): string[] {
  const keys: string[] = [];
  const any = (side: Split['a']) => (side[sim.pick(side.length)] ?? side[0])?.index ?? 0;
  for (let i = 0; i < n; i++) {
    const key = sim.newKey();
    sim.write(any(split.a), key);
    sim.write(any(split.b), key);
    keys.push(key, sim.write(any(split.a)).key, sim.write(any(split.b)).key);
  }
  return keys;
}

/** Views of a member as dead, over every running node. */
function deadViews(sim: Simulation): number {
  return sim.upNodes().reduce((sum, n) => sum + n.core.membership.members().filter((m) => m.state === 'dead').length, 0);
}

async function partitionAndHeal(sim: Simulation, fault: Fault, rounds: number): Promise<{ keys: string[]; split: Split; dead: number }> {
  const split = applyFault(sim, fault);
  if (split === undefined) throw new Error('not a partition');
  const keys = writeOnBothSides(sim, split, 5);
  await sim.runRounds(rounds);
  const dead = deadViews(sim);
  applyFault(sim, { kind: 'heal' });
  return { keys, split, dead };
}

describe('a healed half/half partition', () => {
  it('long enough for each side to declare the other dead: membership and every key converge, one winner per key', async () => {
    const sim = cluster(200, 21);
    await boot(sim);
    const { keys, split, dead } = await partitionAndHeal(sim, { kind: 'partition' }, 60);
    // most of each side had been declared dead by the other
    expect(dead).toBeGreaterThan(split.a.length * split.b.length);
    await untilMembership(sim, 60);
    await untilAgreement(sim, 30, keys);
    for (const key of keys) expect(winners(sim, key), `key ${key} (seed ${sim.config.seed})`).toHaveLength(1);
    // the conflicting keys kept both concurrent writes as siblings, on every node
    expect(sim.node(0).store.siblings(keys[0] as string)).toHaveLength(2);
    expect(membershipComplete(sim)).toBe(true);
    expectCleanWire(sim);
  });

  it('a short one (suspicions, no deaths) heals too', async () => {
    const sim = cluster(60, 22);
    await boot(sim);
    const { keys, dead } = await partitionAndHeal(sim, { kind: 'partition' }, 5);
    expect(dead).toBe(0);
    await untilMembership(sim, 60);
    await untilAgreement(sim, 30, keys);
    expectCleanWire(sim);
  });
});

describe('other cuts', () => {
  it('two halves joined only through a bridge node converge while still cut', async () => {
    const sim = cluster(40, 23);
    await boot(sim);
    const split = applyFault(sim, { kind: 'bridge' });
    if (split?.bridge === undefined) throw new Error('no bridge');
    const keys = writeOnBothSides(sim, split, 3);
    // data flows through the bridge (rumors and anti-entropy both relay through it)
    await untilAgreement(sim, 60, keys);
    applyFault(sim, { kind: 'heal' });
    await untilMembership(sim, 60);
    expectCleanWire(sim);
  });

  it('a one-way cut, then healed: membership and data converge', async () => {
    const sim = cluster(40, 24);
    await boot(sim);
    const { keys } = await partitionAndHeal(sim, { kind: 'one-way' }, 30);
    await untilMembership(sim, 60);
    await untilAgreement(sim, 30, keys);
    expectCleanWire(sim);
  });
});
