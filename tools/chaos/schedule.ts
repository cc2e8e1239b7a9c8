/**
 * The fault schedule of a chaos run, drawn from a seed: pure, no I/O, so one
 * seed gives one schedule on every machine (the run's timing around it is
 * real and varies).
 *
 * Faults run on independent lanes, so faults of different families overlap
 * but never pile up within one:
 *
 * - `maxDown` process lanes (kill -9 + restart, SIGSTOP + SIGCONT): each lane
 *   has at most one node down or paused at a time, and a node is never the
 *   target of two lanes at once, so at most `maxDown` nodes are out at once.
 *   `maxDown` is at most R − 1 (maxDownBound): each body has R owners, so
 *   once it has reached them at least one owner is up whatever the process
 *   faults do. Faults never touch a disk (a killed node restarts over its
 *   own data dir), so the faults alone cannot destroy an acknowledged write:
 *   a loss is the product's.
 * - one network lane (partitions, latency, drops): one rule set at a time.
 * - one loss lane (loss episodes: a 20 % chance per forwarded chunk of a
 *   retransmission stall, on a seeded proper subset of the node pairs,
 *   10–30 s, shorter in short runs), layered over the network lane's rule.
 * - one service lane (restart of Redis, restart of PostgreSQL).
 * - one clock lane (a node's wall clock bumped by up to ±262 s, or running
 *   fast): one node skewed at a time, so every pair of nodes stays within
 *   CLOCK_LIMITS.maxSkewMs of each other, under the nodes' --max-clock-skew
 *   (300 s). A node whose clock ran ahead leaves versions stamped ahead (its
 *   hybrid clock never steps back), so a backward bump is made smaller while
 *   that residue lasts (clockResidueMs): a version's stamp is never further
 *   ahead of any node's clock than the bound either.
 *
 * Each lane is cut into equal slots with one fault per slot. The first slots
 * of each lane take that lane's kinds in a seeded order, so even a short run
 * injects every kind at least once; later slots draw kinds at random.
 */
import { SeededRandom } from '../sim/seeded-random.js';

export const FAULT_KINDS = [
  'kill', 'pause',
  'partition-halves', 'partition-bridge', 'partition-oneway', 'latency', 'drops',
  'loss', 'redis-restart', 'postgres-restart', 'clock-bump', 'clock-drift',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const PROCESS_KINDS: readonly FaultKind[] = ['kill', 'pause'];
const NETWORK_KINDS: readonly FaultKind[] = ['partition-halves', 'partition-bridge', 'partition-oneway', 'latency', 'drops'];
const SERVICE_KINDS: readonly FaultKind[] = ['redis-restart', 'postgres-restart'];
const CLOCK_KINDS: readonly FaultKind[] = ['clock-bump', 'clock-drift'];
const LOSS_KINDS: readonly FaultKind[] = ['loss'];

/**
 * Bounds of the clock faults. A bump is Jepsen's figure at most (±262 s), a
 * drift runs 1.5–3 times as fast as real time and never gains more than
 * 200 s: one node off by at most 262 s keeps every pair of nodes under the
 * nodes' --max-clock-skew (300 s), past which they refuse each other.
 */
export const CLOCK_LIMITS = {
  minBumpMs: 30_000, maxSkewMs: 262_000, minDriftRate: 1.5, maxDriftRate: 3, maxDriftMs: 200_000,
} as const;

/** A loss episode: this chance per forwarded chunk, 10–30 s (shortened to fit a short run). */
export const LOSS_LIMITS = { rate: 0.2, minMs: 10_000, maxMs: 30_000 } as const;

/** How a cut link behaves: connections refused at once, or accepted and left hanging. */
export type CutMode = 'reset' | 'blackhole';

export interface FaultEvent {
  /** when it starts, ms after the faults begin */
  atMs: number;
  kind: FaultKind;
  /** how long the fault lasts (down time, pause, partition, service outage) */
  durationMs: number;
  /** kill/pause: the target node; partitions: side A (halves, one-way: A cannot reach B) */
  nodes: number[];
  /** partitions: side B */
  others: number[];
  /** partition-bridge: the node that talks to both sides */
  bridge?: number;
  cut?: CutMode;
  /** latency: added delay per forwarded chunk, ms */
  latencyMs?: [number, number];
  /** drops: chance that a forwarded chunk kills its connection */
  dropRate?: number;
  /** loss: the node pairs it applies to (both directions), each [lower, higher] */
  links?: [number, number][];
  /** loss: chance that a forwarded chunk is lost and waits for its retransmission */
  lossRate?: number;
  /** clock-bump: the target's wall-clock offset while it lasts, ms (either sign) */
  clockOffsetMs?: number;
  /** clock-drift: how fast the target's wall clock runs while it lasts (1 is real time) */
  clockRate?: number;
}

export interface ScheduleOptions {
  seed: number;
  durationMs: number;
  nodes: number;
  /** owners per body (the nodes' --replicas): bounds maxDown */
  replicas: number | 'all';
  /** most nodes down or paused at once (one per process lane), 1..maxDownBound(replicas, nodes) */
  maxDown: number;
  /** target slot length per lane, ms (shortened so every kind fits) */
  processSlotMs?: number;
  networkSlotMs?: number;
  serviceSlotMs?: number;
  clockSlotMs?: number;
  lossSlotMs?: number;
  /** time a killed node takes to come back, counted as "down" when choosing targets */
  restartAllowanceMs?: number;
}

export const SCHEDULE_DEFAULTS = {
  processSlotMs: 5_000, networkSlotMs: 8_000, serviceSlotMs: 12_000, clockSlotMs: 20_000, lossSlotMs: 40_000, restartAllowanceMs: 12_000,
} as const;

/** The shortest run that fits every kind (the network lane needs a slot per kind, ≥ 2 s each). */
export const MIN_DURATION_MS = 10_000;

/**
 * The most nodes a schedule may hold out at once: R − 1 of a body's R owners
 * (R counted as at most the nodes; `all` is every node), so one owner of
 * every body that has reached its owners is always up.
 */
export function maxDownBound(replicas: number | 'all', nodes: number): number {
  return (replicas === 'all' ? nodes : Math.min(replicas, nodes)) - 1;
}

interface Slot { start: number; length: number; kind: FaultKind }

function shuffled<T>(items: readonly T[], random: SeededRandom): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function slots(lengthMs: number, targetSlotMs: number, kinds: readonly FaultKind[], random: SeededRandom, first: readonly FaultKind[] = kinds, shuffle = true): Slot[] {
  const count = Math.max(first.length, Math.floor(lengthMs / targetSlotMs));
  const length = lengthMs / count;
  const order = shuffle ? shuffled(first, random) : [...first];
  const out: Slot[] = [];
  for (let i = 0; i < count; i++) out.push({ start: i * length, length, kind: order[i] ?? kinds[random.int(kinds.length)] as FaultKind });
  return out;
}

const between = (random: SeededRandom, lo: number, hi: number): number => Math.round(lo + random.next() * (hi - lo));

/** Splits the nodes (optionally minus some) into two non-empty random sides. */
function split(nodes: number[], random: SeededRandom): [number[], number[]] {
  const order = shuffled(nodes, random);
  const cut = 1 + random.int(order.length - 1);
  return [order.slice(0, cut).sort((a, b) => a - b), order.slice(cut).sort((a, b) => a - b)];
}

function networkEvent(slot: Slot, nodes: number, random: SeededRandom): FaultEvent {
  const atMs = Math.round(slot.start + random.next() * slot.length * 0.15);
  const durationMs = Math.round(slot.length * (0.5 + random.next() * 0.3));
  const all = Array.from({ length: nodes }, (_, i) => i);
  const cut: CutMode = random.next() < 0.5 ? 'reset' : 'blackhole';
  switch (slot.kind) {
    case 'partition-halves':
    case 'partition-oneway': {
      const [a, b] = split(all, random);
      return { atMs, kind: slot.kind, durationMs, nodes: a, others: b, cut };
    }
    case 'partition-bridge': {
      const bridge = random.int(nodes);
      const [a, b] = split(all.filter((n) => n !== bridge), random);
      return { atMs, kind: slot.kind, durationMs, nodes: a, others: b, bridge, cut };
    }
    case 'latency': {
      const lo = between(random, 20, 150);
      return { atMs, kind: slot.kind, durationMs, nodes: all, others: [], latencyMs: [lo, lo + between(random, 20, 250)] };
    }
    default:
      return { atMs, kind: slot.kind, durationMs, nodes: all, others: [], dropRate: Math.round((0.01 + random.next() * 0.09) * 1000) / 1000 };
  }
}

/** What a clock-drift gains over its duration, ms. */
export function driftGainMs(event: FaultEvent): number {
  return Math.round(((event.clockRate ?? 1) - 1) * event.durationMs);
}

/**
 * How far ahead of real time a version stamped during one of `events`'
 * forward skews (a bump ahead, a drift) can still be at `atMs`. The skewed
 * node's hybrid clock never steps back, so after the skew ends its versions
 * stay stamped ahead until real time catches up: the residue shrinks by 1 ms
 * per ms from the skew's end.
 */
export function clockResidueMs(events: readonly FaultEvent[], atMs: number): number {
  let residue = 0;
  for (const e of events) {
    if (e.atMs >= atMs) continue;
    const ahead = e.kind === 'clock-bump' ? Math.max(0, e.clockOffsetMs ?? 0) : e.kind === 'clock-drift' ? driftGainMs(e) : 0;
    residue = Math.max(residue, ahead - Math.max(0, atMs - (e.atMs + e.durationMs)));
  }
  return residue;
}

/**
 * One clock fault in its slot, on one node. A bump goes back only while the
 * residue of earlier forward skews leaves room for at least the smallest
 * bump, and never further than that room: a version is then never more than
 * CLOCK_LIMITS.maxSkewMs ahead of a node's clock.
 */
function clockEvent(slot: Slot, nodes: number, random: SeededRandom, earlier: readonly FaultEvent[]): FaultEvent {
  const atMs = Math.round(slot.start + random.next() * slot.length * 0.15);
  let durationMs = Math.round(slot.length * (0.5 + random.next() * 0.2));
  const target = random.int(nodes);
  const L = CLOCK_LIMITS;
  if (slot.kind === 'clock-bump') {
    const magnitude = between(random, L.minBumpMs, L.maxSkewMs);
    const room = L.maxSkewMs - clockResidueMs(earlier, atMs);
    const back = random.next() < 0.5 && room >= L.minBumpMs;
    return { atMs, kind: slot.kind, durationMs, nodes: [target], others: [], clockOffsetMs: back ? -Math.min(magnitude, room) : magnitude };
  }
  const rate = Math.round((L.minDriftRate + random.next() * (L.maxDriftRate - L.minDriftRate)) * 100) / 100;
  durationMs = Math.min(durationMs, Math.floor(L.maxDriftMs / (rate - 1)));
  return { atMs, kind: slot.kind, durationMs, nodes: [target], others: [], clockRate: rate };
}

/** One loss episode in its slot: 10–30 s (at most 3/4 of the slot), on 1..⌈pairs/2⌉ of the node pairs. */
function lossEvent(slot: Slot, nodes: number, random: SeededRandom): FaultEvent {
  const durationMs = Math.min(between(random, LOSS_LIMITS.minMs, LOSS_LIMITS.maxMs), Math.round(slot.length * 0.75));
  const atMs = Math.round(slot.start + random.next() * (slot.length - durationMs) * 0.5);
  const pairs: [number, number][] = [];
  for (let a = 0; a < nodes; a++) for (let b = a + 1; b < nodes; b++) pairs.push([a, b]);
  const links = shuffled(pairs, random).slice(0, 1 + random.int(Math.ceil(pairs.length / 2)))
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const touched = [...new Set(links.flat())].sort((a, b) => a - b);
  return { atMs, kind: 'loss', durationMs, nodes: touched, others: [], links, lossRate: LOSS_LIMITS.rate };
}

/** The fault schedule for `options`, sorted by start time. Same options, same schedule. */
export function buildSchedule(options: ScheduleOptions): FaultEvent[] {
  const { seed, durationMs, nodes, maxDown } = options;
  if (durationMs < MIN_DURATION_MS) throw new RangeError(`a chaos run lasts at least ${MIN_DURATION_MS / 1000} s to fit every fault kind`);
  if (nodes < 3) throw new RangeError('a chaos run needs at least 3 nodes (a bridge partition needs two sides and a bridge)');
  const bound = maxDownBound(options.replicas, nodes);
  if (bound < 1) throw new RangeError('a chaos run needs at least 2 owners per body (--replicas 2 or more): process faults take one node out at a time at least');
  if (maxDown < 1 || maxDown > bound) throw new RangeError(`maxDown must be 1..${bound} (R − 1 with ${options.replicas} replicas on ${nodes} nodes)`);
  const d = { ...SCHEDULE_DEFAULTS, ...options };
  const random = new SeededRandom(seed);
  // Lanes added later fork after the others, so adding one leaves the others' draws as they were.
  const laneRandom = { process: random.fork(), network: random.fork(), service: random.fork(), clock: random.fork(), loss: random.fork() };
  const events: FaultEvent[] = [];

  // Process lanes: the first lane starts with one kind, the second with the other.
  const processEvents: { atMs: number; kind: FaultKind; durationMs: number; lane: number }[] = [];
  const firstKinds = shuffled(PROCESS_KINDS, laneRandom.process);
  for (let lane = 0; lane < maxDown; lane++) {
    // With two or more lanes, each of the first two starts with one kind; with one lane, it starts with both.
    // (One lane pauses first: a kill's restart time could push the pause past a short run.)
    const first = maxDown === 1 ? ['pause', 'kill'] as FaultKind[] : lane < firstKinds.length ? [firstKinds[lane] as FaultKind] : [];
    // A lane holds one node out at a time: a killed node counts as out until it has had time to restart.
    let laneFreeAt = 0;
    for (const slot of slots(durationMs, d.processSlotMs, PROCESS_KINDS, laneRandom.process, first, false)) {
      // Offset lanes so they do not start in lockstep.
      const atMs = Math.max(laneFreeAt, Math.round(slot.start + laneRandom.process.next() * slot.length * 0.3));
      const length = Math.round(Math.min(slot.length * 0.5, 4_000) * (0.4 + laneRandom.process.next() * 0.6));
      if (atMs + length > durationMs) continue;
      processEvents.push({ atMs, kind: slot.kind, durationMs: length, lane });
      laneFreeAt = atMs + length + (slot.kind === 'kill' ? d.restartAllowanceMs : 0) + 1;
    }
  }
  // Targets in time order: never a node another lane has down (a killed node counts as down until it has had time to restart).
  processEvents.sort((a, b) => a.atMs - b.atMs || a.lane - b.lane);
  const busyUntil = new Map<number, number>();
  for (const e of processEvents) {
    const free = Array.from({ length: nodes }, (_, i) => i).filter((n) => (busyUntil.get(n) ?? -1) < e.atMs);
    const target = free[laneRandom.process.int(free.length)];
    if (target === undefined) continue;
    busyUntil.set(target, e.atMs + e.durationMs + (e.kind === 'kill' ? d.restartAllowanceMs : 0));
    events.push({ atMs: e.atMs, kind: e.kind, durationMs: e.durationMs, nodes: [target], others: [] });
  }

  for (const slot of slots(durationMs, d.networkSlotMs, NETWORK_KINDS, laneRandom.network)) events.push(networkEvent(slot, nodes, laneRandom.network));

  for (const slot of slots(durationMs, d.serviceSlotMs, SERVICE_KINDS, laneRandom.service)) {
    const atMs = Math.round(slot.start + laneRandom.service.next() * slot.length * 0.3);
    events.push({ atMs, kind: slot.kind, durationMs: between(laneRandom.service, 500, Math.min(3_000, slot.length * 0.4)), nodes: [], others: [] });
  }

  const clockEvents: FaultEvent[] = [];
  for (const slot of slots(durationMs, d.clockSlotMs, CLOCK_KINDS, laneRandom.clock)) clockEvents.push(clockEvent(slot, nodes, laneRandom.clock, clockEvents));
  events.push(...clockEvents);

  for (const slot of slots(durationMs, d.lossSlotMs, LOSS_KINDS, laneRandom.loss)) events.push(lossEvent(slot, nodes, laneRandom.loss));
  return events.sort((a, b) => a.atMs - b.atMs || FAULT_KINDS.indexOf(a.kind) - FAULT_KINDS.indexOf(b.kind));
}

/** How many events of each kind (every kind present, zero or not). */
export function countKinds(events: readonly { kind: FaultKind }[]): Record<FaultKind, number> {
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const e of events) counts[e.kind]++;
  return counts;
}
