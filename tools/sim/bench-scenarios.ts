/**
 * The measurements behind bench/sim (run by bench/sim/run.mjs, reported in
 * bench/sim/README.md): each builds its own simulated cluster, with
 * production timing unless it says otherwise, and returns plain numbers next
 * to the theoretical figure they are judged against.
 */
import type { Version } from '../../src/consensus/types.js';
import { MEMBERSHIP_OPTIONS } from '../../src/gossip/core/membership-config.js';
import { buildOptions } from '../../src/options.js';
import { applyFault } from './faults.js';
import { DetectionWatch, disagreements, membershipComplete, probeTotals, round1 } from './metrics.js';
import { coreOptions, link, simulationConfig } from './profiles.js';
import { preloadKeys } from './scenarios.js';
import { Simulation } from './simulation.js';

/** Message types of the data plane (anti-entropy and version metadata). */
export const DATA_PLANE_TYPES: readonly string[] = ['ae-nodes', 'ae-keys', 'ae-want', 'versions'];

function typeBytes(sim: Simulation, types: readonly string[]): { bytes: number; messages: number } {
  let bytes = 0;
  let messages = 0;
  for (const t of types) {
    const c = sim.net.byType.get(t);
    if (c !== undefined) {
      bytes += c.bytes;
      messages += c.messages;
    }
  }
  return { bytes, messages };
}

/** Boots a cluster and waits for membership to converge and its news to be fully retransmitted. */
async function bootAndSettle(sim: Simulation, maxRounds = 200): Promise<void> {
  sim.startAll();
  const max = maxRounds * sim.roundMs;
  if ((await sim.runUntil(() => membershipComplete(sim), max)) === undefined) throw new Error(`membership did not converge (seed ${sim.config.seed})`);
  await sim.runUntil(() => sim.nodes.every((n) => n.core.membership.pendingUpdates === 0), max, sim.roundMs);
}

export interface IdleCost {
  keys: number;
  nodes: number;
  rounds: number;
  /** anti-entropy (and version) payload bytes sent per node per round */
  aeBytes: number;
  aeMessages: number;
  /** everything else (probes, membership) per node per round, for context */
  otherBytes: number;
  /** wall ms to build the stores and trees */
  setupMs: number;
}

/** Idle anti-entropy: `nodes` nodes holding the same `keys` keys, `rounds` rounds with nothing to repair. */
export async function idleAntiEntropy(keys: number, options: { nodes?: number; seed?: number; rounds?: number; stopwatch?: () => number } = {}): Promise<IdleCost> {
  const nodes = options.nodes ?? 5;
  const rounds = options.rounds ?? 20;
  const stopwatch = options.stopwatch ?? (() => 0);
  const t = stopwatch();
  const sim = new Simulation(simulationConfig(nodes, options.seed ?? 1));
  preloadKeys(sim, keys);
  await bootAndSettle(sim);
  const setupMs = stopwatch() - t;
  const before = typeBytes(sim, DATA_PLANE_TYPES);
  const allBefore = sim.net.bytes;
  await sim.runRounds(rounds);
  const after = typeBytes(sim, DATA_PLANE_TYPES);
  const per = (x: number) => round1(x / nodes / rounds);
  const ae = after.bytes - before.bytes;
  return { keys, nodes, rounds, aeBytes: per(ae), aeMessages: per(after.messages - before.messages), otherBytes: per(sim.net.bytes - allBefore - ae), setupMs: Math.round(setupMs) };
}

export type DifferenceKind = 'updated' | 'missing';

export interface RepairCost {
  keys: number;
  differences: number;
  kind: DifferenceKind;
  /** data-plane payload bytes both nodes sent until they agreed */
  bytes: number;
  messages: number;
  rounds: number;
  /** the JSON of the differing versions alone: what any repair must carry at least */
  payloadBytes: number;
  /** data-plane bytes by message type */
  bytesByType: Record<string, number>;
}

/**
 * Two nodes hold the same `keys` keys, except `differences` keys where one of
 * them (alternately) holds a newer version it never announced (`updated`), or
 * that one of them (alternately) lacks (`missing`); anti-entropy alone must
 * find and repair them.
 */
export async function repairCost(keys: number, differences: number, options: { kind?: DifferenceKind; seed?: number; maxRounds?: number } = {}): Promise<RepairCost> {
  const kind = options.kind ?? 'updated';
  const sim = new Simulation(simulationConfig(2, options.seed ?? 1));
  preloadKeys(sim, keys);
  await bootAndSettle(sim);
  const all = [...sim.node(0).store.keys()];
  const chosen = new Set<string>();
  while (chosen.size < Math.min(differences, all.length)) chosen.add(all[sim.pick(all.length)] as string);
  let payloadBytes = 0;
  let i = 0;
  for (const key of chosen) {
    const holder = sim.node(i++ % 2);
    const old = holder.store.siblings(key)[0] as Version;
    if (kind === 'missing') {
      sim.node(i % 2).store.forget(key);
      payloadBytes += JSON.stringify(old).length;
      continue;
    }
    const newer: Version = Object.freeze({
      ...old,
      clock: Object.freeze({ ...old.clock, [holder.id]: (old.clock[holder.id] ?? 0) + 1 }),
      timestamp: Object.freeze({ wall: sim.now, logical: i }),
      origin: holder.id,
      sha256: `${i.toString(16).padStart(8, '0')}${'ab'.repeat(28)}`,
    });
    holder.store.putLocal(newer);
    payloadBytes += JSON.stringify(newer).length;
  }
  const before = typeBytes(sim, DATA_PLANE_TYPES);
  const beforeByType = new Map(DATA_PLANE_TYPES.map((t) => [t, sim.net.byType.get(t)?.bytes ?? 0]));
  const start = sim.now;
  const keysChanged = [...chosen];
  const done = await sim.runUntil(() => disagreements(sim, keysChanged).length === 0, (options.maxRounds ?? 100) * sim.roundMs);
  if (done === undefined) throw new Error(`repair of ${differences} differences did not finish (seed ${sim.config.seed})`);
  const after = typeBytes(sim, DATA_PLANE_TYPES);
  const bytesByType: Record<string, number> = {};
  for (const t of DATA_PLANE_TYPES) bytesByType[t] = (sim.net.byType.get(t)?.bytes ?? 0) - (beforeByType.get(t) ?? 0);
  return { keys, differences, kind, bytes: after.bytes - before.bytes, messages: after.messages - before.messages, rounds: round1(sim.roundsSince(start)), payloadBytes, bytesByType };
}

export interface DetectionResult {
  nodes: number;
  loss: number;
  lifeguard: boolean;
  slowNodes: number;
  rounds: number;
  probes: number;
  failedProbes: number;
  falseSuspicions: number;
  falseDeaths: number;
  /** false deaths per node per 1,000 rounds */
  falseDeathRate: number;
  /** false suspicions per node per 1,000 rounds */
  falseSuspicionRate: number;
  /** P(one probe fails) with loss p and k indirect checks: (1−(1−p)²)·(1−(1−p)⁴)^k */
  probeFailureBound: number;
}

/**
 * Failure detection on a healthy cluster under message loss (and, if
 * `slowNodes`, that many overloaded nodes that tick rarely and read late,
 * Lifeguard's case): every suspicion and death is a false positive.
 * `lifeguard: false` turns off local health and the shrinking suspicion
 * timer (awarenessMax 1, suspicion always at its floor).
 */
export async function detectionUnderLoss(options: { nodes: number; loss: number; rounds: number; lifeguard: boolean; slowNodes?: number; seed?: number }): Promise<DetectionResult> {
  const base = coreOptions('production');
  const membership = options.lifeguard ? base.membership : buildOptions(MEMBERSHIP_OPTIONS, { awarenessMax: 1, suspicionMaxTimeoutMult: 1 }, base.membership);
  const sim = new Simulation(simulationConfig(options.nodes, options.seed ?? 1, { core: { ...base, membership }, link: { ...link('lan'), latency: { kind: 'uniform', min: 1, max: 40 } } }));
  await bootAndSettle(sim);
  const slow = options.slowNodes ?? 0;
  if (slow > 0) applyFault(sim, { kind: 'slow', nodes: Array.from({ length: slow }, (_, i) => i), tickEvery: 5, inboundDelayMs: 700 });
  applyFault(sim, { kind: 'loss', rate: options.loss });
  const watch = new DetectionWatch(sim);
  const probesBefore = probeTotals(sim);
  await sim.runRounds(options.rounds);
  const probes = probeTotals(sim);
  const k = membership.indirectChecks;
  const p = options.loss;
  const perNodeKRound = (x: number) => Math.round((1e6 * x) / options.nodes / options.rounds) / 1000;
  return {
    nodes: options.nodes,
    loss: p,
    lifeguard: options.lifeguard,
    slowNodes: slow,
    rounds: options.rounds,
    probes: probes.probes - probesBefore.probes,
    failedProbes: probes.failed - probesBefore.failed,
    falseSuspicions: watch.counts.falseSuspicions,
    falseDeaths: watch.counts.falseDeaths,
    falseDeathRate: perNodeKRound(watch.counts.falseDeaths),
    falseSuspicionRate: perNodeKRound(watch.counts.falseSuspicions),
    probeFailureBound: (1 - (1 - p) ** 2) * (1 - (1 - p) ** 4) ** k,
  };
}

export interface BootResult {
  nodes: number;
  lookCount: number;
  /** rounds until every node sees every other alive; null past maxRounds */
  membershipRounds: number | null;
}

/**
 * Membership convergence alone, with each node given only `lookCount` peers by
 * the Point at start (everything else is learnt by gossip and syncs). Below 3
 * the random graph of first contacts is often split into islands, which only
 * the Point's next look (30 s later) joins.
 */
export async function bootRounds(nodes: number, options: { lookCount?: number; seed?: number; maxRounds?: number } = {}): Promise<BootResult> {
  const lookCount = options.lookCount ?? 3;
  const sim = new Simulation(simulationConfig(nodes, options.seed ?? 1, { lookCount }));
  sim.startAll();
  const ms = await sim.runUntil(() => membershipComplete(sim), (options.maxRounds ?? 200) * sim.roundMs);
  return { nodes, lookCount, membershipRounds: ms === undefined ? null : round1(ms / sim.roundMs) };
}
