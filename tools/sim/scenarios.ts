/**
 * The standard scenario (`npm run sim`), in phases on one simulated cluster:
 *
 * 1. boot: N nodes start at once, each with 16 peers from the Point, holding
 *    the same `keys` keys already (a converged store) → `membershipRounds`,
 *    rounds until every node sees every other alive;
 * 2. (only with `idleRounds` > 0) idle: once the boot's membership news has
 *    been retransmitted, a few rounds with nothing to do → idle traffic per
 *    node per round (probes, anti-entropy over `keys` keys, membership syncs);
 * 3. one write on a random node → `writeRounds` until every node has adopted
 *    its metadata (and `bodyRounds` until every node holds its body);
 * 4. partition: two random halves cut apart for `partitionRounds` (10), with
 *    writes on both sides (the same keys on both, concurrently, and keys of
 *    their own), then healed → `partitionHealRounds` until every node sees
 *    every other alive again and holds the same sibling set (so the same
 *    winner) for every key written.
 *
 * Every phase is bounded by `maxPhaseRounds`; a phase that does not finish
 * reports null and the run is marked not converged.
 */
import type { Version } from '../../src/consensus/types.js';
import { Placement } from '../../src/gossip/core/placement.js';
import { applyFault } from './faults.js';
import {
  DetectionWatch,
  TrafficWindow,
  VersionWatch,
  disagreements,
  membershipComplete,
  roundBounds,
  round1,
  type TrafficRates,
} from './metrics.js';
import { coreOptions, link, type LatencyName, type ProfileName } from './profiles.js';
import type { WireMode } from './sim-network.js';
import { simulationConfig } from './profiles.js';
import type { SimNode } from './sim-node.js';
import { Simulation } from './simulation.js';

/**
 * How long the standard scenario's partition lasts. Ten rounds is past the
 * suspicion floor at N ≤ 100 (the sides declare each other dead) and just
 * short of it at N = 1,000 (12 s: they suspect each other); bench/sim runs 30
 * rounds, past it everywhere. The length chosen also keeps a 1,000-node run
 * of `npm run sim` near a minute (proposal 0006, "Scale").
 */
export const DEFAULT_PARTITION_ROUNDS = 10;

export interface StandardScenarioOptions {
  readonly nodes: number;
  readonly seed: number;
  /** keys every node holds from the start */
  readonly keys?: number;
  readonly profile?: ProfileName;
  readonly latency?: LatencyName;
  /** message loss rate for the whole run */
  readonly loss?: number;
  readonly wire?: WireMode;
  /** rounds of the idle phase; 0 (the default) skips it */
  readonly idleRounds?: number;
  readonly partitionRounds?: number;
  /** keys written on both sides of the partition (conflicts); as many again on each side alone */
  readonly partitionWrites?: number;
  readonly maxPhaseRounds?: number;
  /** each node's active view (membership.maxPeers); absent: the profile's */
  readonly maxPeers?: number;
  /** a wall clock for the report's durations (the simulation itself never reads one) */
  readonly stopwatch?: () => number;
  /** called as each phase ends, for progress output */
  readonly onPhase?: (phase: string, detail: string) => void;
}

export interface ScenarioReport {
  nodes: number;
  seed: number;
  keys: number;
  profile: ProfileName;
  latency: LatencyName;
  loss: number;
  /** virtual ms per round (one anti-entropy interval) */
  roundMs: number;
  membershipRounds: number | null;

  writeRounds: number | null;
  /** rumor hops to the farthest node the write reached by rumor */
  writeHops: number;
  /** share of nodes the write reached by rumor rather than anti-entropy */
  writeRumorShare: number;
  bodyRounds: number | null;
  partitionRounds: number;
  partitionHealRounds: number | null;
  /** per node per round, over the whole run */
  messages: number;
  bytes: number;
  wireBytes: number;
  /** per node per round in each phase (idle only when run) */
  traffic: Record<string, TrafficRates>;
  falseSuspicions: number;
  falseDeaths: number;
  /** theoretical rounds to spread one update at this N */
  bounds: { target: number; push: number; pushPull: number };
  /** keys on which two running nodes disagree at the end (must be 0) */
  divergentKeys: number;
  /** messages a real receiver would have refused (wire=validated only; must be 0) */
  wireViolations: number;
  dropped: number;
  converged: boolean;
  virtualSeconds: number;
  wallMs: Record<string, number>;
  trace: string;
}

export interface PreloadOptions {
  /** the nodes that hold the keys (default: all) */
  readonly nodes?: readonly SimNode[];
  /**
   * Which of them hold the bodies: 'all' (the default), or 'owners': only
   * the R owners of each body as placement ranks them over `nodes` (a
   * cluster whose placement has settled).
   */
  readonly bodies?: 'all' | 'owners';
  /** body size, bytes (default 1,024) */
  readonly size?: number;
}

/** Keys the nodes hold before the start: one version each, written long ago by various nodes. */
export function preloadKeys(sim: Simulation, count: number, options: PreloadOptions = {}): Version[] {
  if (count <= 0) return [];
  const nodes = options.nodes ?? sim.nodes;
  const versions: Version[] = [];
  const wall = sim.t0 - 3_600_000;
  for (let i = 0; i < count; i++) {
    const origin = (nodes[i % nodes.length] as SimNode).id;
    const sha = (i.toString(16).padStart(8, '0') + sim.config.seed.toString(16).padStart(8, '0')).repeat(4).slice(0, 64);
    versions.push(Object.freeze({
      key: sim.newKey(),
      clock: Object.freeze({ [origin]: 1 }),
      timestamp: Object.freeze({ wall, logical: i }),
      origin,
      sha256: sha,
      size: options.size ?? 1024,
      contentType: 'application/octet-stream',
      tombstone: false,
    }));
  }
  if (options.bodies !== 'owners') {
    for (const n of nodes) for (const v of versions) n.store.putLocal(v);
    return versions;
  }
  const placement = new Placement(sim.config.core.placement.replicas);
  const zone = sim.config.core.placement.zone ?? '';
  placement.setMembers(nodes.map((n) => ({ id: n.id, zone })));
  for (const v of versions) {
    const owners = new Set(placement.owners(v.sha256));
    for (const n of nodes) n.store.putLocal(v, owners.has(n.id));
  }
  return versions;
}

export async function runStandardScenario(options: StandardScenarioOptions): Promise<ScenarioReport> {
  const profile = options.profile ?? 'production';
  const latency = options.latency ?? 'lan';
  const loss = options.loss ?? 0;
  const keys = options.keys ?? 0;
  const maxPhaseRounds = options.maxPhaseRounds ?? 300;
  const partitionRounds = options.partitionRounds ?? DEFAULT_PARTITION_ROUNDS;
  const partitionWrites = options.partitionWrites ?? 5;
  const stopwatch = options.stopwatch ?? (() => 0);
  const wallMs: Record<string, number> = {};
  let phaseStart = stopwatch();
  const phase = (name: string, detail: string) => {
    const now = stopwatch();
    wallMs[name] = Math.round(now - phaseStart);
    phaseStart = now;
    options.onPhase?.(name, detail);
  };

  const core = coreOptions(profile);
  const sim = new Simulation(simulationConfig(options.nodes, options.seed, {
    core: options.maxPeers === undefined ? core : { ...core, membership: { ...core.membership, maxPeers: options.maxPeers } },
    link: link(latency, loss),
    wire: options.wire ?? 'json',
  }));
  const maxMs = maxPhaseRounds * sim.roundMs;
  const rounds = (ms: number | undefined) => (ms === undefined ? null : round1(ms / sim.roundMs));
  preloadKeys(sim, keys);
  const whole = new TrafficWindow(sim);
  const detection = new DetectionWatch(sim);
  const traffic: Record<string, TrafficRates> = {};
  let window = new TrafficWindow(sim);
  const closeWindow = (name: string) => {
    traffic[name] = window.rates();
    window = new TrafficWindow(sim);
  };
  phase('setup', `${options.nodes} nodes, ${keys} keys each`);

  // 1. boot
  sim.startAll();
  const membershipRounds = rounds(await sim.runUntil(() => membershipComplete(sim), maxMs));
  closeWindow('boot');
  phase('membership', `${membershipRounds ?? 'not'} rounds`);

  // 2. idle: first let the boot's membership news finish its retransmissions, then measure
  const idleRounds = options.idleRounds ?? 0;
  if (idleRounds > 0) {
    const settled = rounds(await sim.runUntil(() => sim.nodes.every((n) => !n.up || n.core.membership.pendingUpdates === 0), maxMs, sim.roundMs));
    window = new TrafficWindow(sim);
    await sim.runRounds(idleRounds);
    closeWindow('idle');
    phase('idle', `settled in ${settled ?? 'not'} rounds, then ${traffic.idle?.bytes ?? 0} B/node/round`);
  }

  // 3. one write
  const writer = sim.pick(sim.nodes.length);
  const version = sim.write(writer);
  const watch = new VersionWatch(sim, version, sim.node(writer));
  const writeMs = await sim.runUntil(() => watch.everywhere(), maxMs);
  const bodyMs = writeMs === undefined ? undefined : await sim.runUntil(() => watch.bodiesPlaced(), maxMs);
  watch.stop();
  const writeRounds = rounds(writeMs);
  const bodyRounds = bodyMs === undefined || writeMs === undefined ? null : rounds(writeMs + bodyMs);
  closeWindow('write');
  phase('write', `${writeRounds ?? 'not'} rounds, ${watch.maxHops()} hops`);
  const falseBeforePartition = { ...detection.counts };
  detection.stop();

  // 4. partition with writes on both sides, then heal
  const split = applyFault(sim, { kind: 'partition' });
  const written = new Set<string>([version.key]);
  if (split !== undefined && split.a.length > 0 && split.b.length > 0) {
    const side = (nodes: typeof split.a) => nodes[sim.pick(nodes.length)]?.index ?? 0;
    for (let i = 0; i < partitionWrites; i++) {
      const key = sim.newKey();
      written.add(key);
      sim.write(side(split.a), key);
      sim.write(side(split.b), key);
      written.add(sim.write(side(split.a)).key);
      written.add(sim.write(side(split.b)).key);
    }
    sim.write(side(split.a), version.key);
  }
  await sim.runRounds(partitionRounds);
  closeWindow('partition');
  applyFault(sim, { kind: 'heal' });
  const healMs = await sim.runUntil(() => membershipComplete(sim) && disagreements(sim, written).length === 0, maxMs);
  const partitionHealRounds = rounds(healMs);
  closeWindow('heal');
  phase('partition', `healed in ${partitionHealRounds ?? 'not'} rounds`);

  const divergentKeys = disagreements(sim).length;
  const overall = whole.rates();
  const report: ScenarioReport = {
    nodes: options.nodes,
    seed: options.seed,
    keys,
    profile,
    latency,
    loss,
    roundMs: sim.roundMs,
    membershipRounds,
    writeRounds,
    writeHops: watch.maxHops(),
    writeRumorShare: Math.round(watch.rumorShare() * 1000) / 1000,
    bodyRounds,
    partitionRounds,
    partitionHealRounds,
    messages: overall.messages,
    bytes: overall.bytes,
    wireBytes: overall.wireBytes,
    traffic,
    falseSuspicions: falseBeforePartition.falseSuspicions,
    falseDeaths: falseBeforePartition.falseDeaths,
    bounds: mapValues(roundBounds(options.nodes), round1),
    divergentKeys,
    wireViolations: sim.net.violationCount,
    dropped: sim.net.dropped,
    converged: membershipRounds !== null && writeRounds !== null && partitionHealRounds !== null && divergentKeys === 0 && sim.net.violationCount === 0,
    virtualSeconds: round1((sim.now - sim.t0) / 1000),
    wallMs,
    trace: sim.finalDigest(),
  };
  phase('report', report.converged ? 'converged' : 'NOT converged');
  return report;
}

function mapValues<T extends object>(o: T, f: (x: number) => number): { [K in keyof T]: number } {
  const out = {} as { [K in keyof T]: number };
  for (const k of Object.keys(o) as (keyof T)[]) out[k] = f(o[k] as number);
  return out;
}
