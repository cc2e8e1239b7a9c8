/**
 * Property-style: for random seeds, a random plan of faults (partitions of
 * every kind, loss, duplication, jitter, crashes with and without the store,
 * pauses, slow nodes) and writes everywhere; once every fault is undone, the
 * cluster must converge: everyone alive in everyone's view, and one sibling
 * set per key on every node. On failure fast-check prints the simulation
 * seed (the counterexample) and its own seed; the assertion messages name the
 * simulation seed too.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { scheduleFault, type Fault } from '../../tools/sim/faults.js';
import type { Simulation } from '../../tools/sim/simulation.js';
import { boot, cluster, expectCleanWire, untilAgreement, untilMembership } from './harness.js';

const NODES = 32;

/** A random plan over `rounds` rounds, drawn from the simulation's own seeded source. */
function randomPlan(sim: Simulation, rounds: number): { at: number; fault: Fault }[] {
  const start = sim.now;
  const at = () => start + sim.pick(rounds * sim.roundMs);
  const some = () => [...new Set(Array.from({ length: 1 + sim.pick(3) }, () => sim.pick(NODES)))];
  const plan: { at: number; fault: Fault }[] = [];
  const cuts: Fault[] = [{ kind: 'partition' }, { kind: 'bridge' }, { kind: 'one-way' }];
  for (let i = 0; i < 6; i++) {
    const roll = sim.pick(8);
    if (roll === 0) plan.push({ at: at(), fault: cuts[sim.pick(cuts.length)] as Fault });
    else if (roll === 1) plan.push({ at: at(), fault: { kind: 'loss', rate: sim.pick(20) / 100 } });
    else if (roll === 2) plan.push({ at: at(), fault: { kind: 'duplicate', rate: sim.pick(20) / 100 } });
    else if (roll === 3) plan.push({ at: at(), fault: { kind: 'latency', model: { kind: 'uniform', min: 1, max: 1 + sim.pick(400) } } });
    else if (roll === 4) plan.push({ at: at(), fault: { kind: 'crash', nodes: some(), wipe: sim.pick(2) === 0 } });
    else if (roll === 5) plan.push({ at: at(), fault: { kind: 'pause', nodes: some() } });
    else if (roll === 6) plan.push({ at: at(), fault: { kind: 'slow', nodes: some(), tickEvery: 1 + sim.pick(5), inboundDelayMs: sim.pick(800) } });
    else plan.push({ at: at(), fault: { kind: 'heal' } });
  }
  return plan;
}

/** Undoes everything: heal, a clean link, every node back up and at full speed. */
function undoAll(sim: Simulation): void {
  const all = sim.nodes.map((n) => n.index);
  for (const fault of [
    { kind: 'heal' },
    { kind: 'loss', rate: 0 },
    { kind: 'duplicate', rate: 0 },
    { kind: 'latency', model: { kind: 'lognormal', min: 1, median: 2, sigma: 0.8 } },
    { kind: 'slow', nodes: all, tickEvery: 1, inboundDelayMs: 0 },
    { kind: 'resume', nodes: all },
    { kind: 'restart', nodes: all },
  ] satisfies Fault[]) scheduleFault(sim, sim.now, fault);
}

describe('random faults never leave the cluster divided', () => {
  it('converges after any plan of faults, for random seeds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0xffffffff }), async (seed) => {
        const sim = cluster(NODES, seed);
        await boot(sim);
        const keys = new Set<string>();
        for (const { at, fault } of randomPlan(sim, 20)) scheduleFault(sim, at, fault);
        for (let i = 0; i < 30; i++) {
          sim.at(sim.now + sim.pick(20 * sim.roundMs), 'client write', () => {
            const up = sim.upNodes();
            const writer = up[sim.pick(up.length)];
            // a third of the writes go to keys already written, so some conflict
            const reuse = keys.size > 0 && sim.pick(3) === 0;
            if (writer !== undefined) keys.add(writer.write(reuse ? ([...keys][sim.pick(keys.size)] as string) : sim.newKey(), `w${i}`, 100).key);
          });
        }
        await sim.runRounds(20);
        undoAll(sim);
        await untilMembership(sim, 150);
        await untilAgreement(sim, 60);
        expectCleanWire(sim);
      }),
      // a fresh fast-check seed each run (it prints it on failure); SIM_PROPERTY_SEED replays one
      { numRuns: 8, endOnFailure: true, ...(process.env.SIM_PROPERTY_SEED === undefined ? {} : { seed: Number(process.env.SIM_PROPERTY_SEED) }) },
    );
  });
});
