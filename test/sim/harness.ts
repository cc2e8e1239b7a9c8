/**
 * Shared steps for the simulation tests: build a cluster, boot it, and wait
 * for convergence with a bound; every failure message names the seed that
 * replays the run.
 */
import { expect } from 'vitest';
import { disagreements, membershipComplete } from '../../tools/sim/metrics.js';
import { coreOptions, link, simulationConfig } from '../../tools/sim/profiles.js';
import { Simulation, type SimulationConfig } from '../../tools/sim/simulation.js';

export function cluster(nodes: number, seed: number, overrides: Partial<SimulationConfig> = {}): Simulation {
  return new Simulation(simulationConfig(nodes, seed, { core: coreOptions('production'), link: link('lan'), wire: 'validated', ...overrides }));
}

/** Starts every node and waits until every node sees every other alive. */
export async function boot(sim: Simulation, maxRounds = 60): Promise<number> {
  sim.startAll();
  return untilMembership(sim, maxRounds);
}

export async function untilMembership(sim: Simulation, maxRounds = 120): Promise<number> {
  const ms = await sim.runUntil(() => membershipComplete(sim), maxRounds * sim.roundMs);
  expect(ms, `membership did not converge in ${maxRounds} rounds (seed ${sim.config.seed})`).toBeDefined();
  return (ms ?? 0) / sim.roundMs;
}

/** Waits until every running node holds the same sibling set for every key (of `keys`, or all). */
export async function untilAgreement(sim: Simulation, maxRounds = 120, keys?: Iterable<string>): Promise<number> {
  const list = keys === undefined ? undefined : [...keys];
  const ms = await sim.runUntil(() => disagreements(sim, list).length === 0, maxRounds * sim.roundMs, sim.roundMs);
  const left = disagreements(sim, list);
  expect(left, `${left.length} keys still disagree after ${maxRounds} rounds (seed ${sim.config.seed})`).toEqual([]);
  return (ms ?? 0) / sim.roundMs;
}

/** No wire violations: every message the protocol sent would have been accepted over HTTP. */
export function expectCleanWire(sim: Simulation): void {
  expect(sim.net.violations.slice(0, 3), `wire violations (seed ${sim.config.seed})`).toEqual([]);
}

/** Every running node's winner for `key` (the first of its sibling set), as one sorted list of distinct sha256s. */
export function winners(sim: Simulation, key: string): string[] {
  return [...new Set(sim.upNodes().map((n) => n.store.siblings(key)[0]?.sha256 ?? 'none'))];
}
