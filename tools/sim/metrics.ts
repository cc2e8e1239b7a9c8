/**
 * What the simulator measures, and the theory each figure is compared with
 * (research/gossip.md §4). Every figure is in rounds (see simulation.ts: one
 * round = one anti-entropy interval = one SWIM probe period in the simulation
 * profile) or per node per round.
 *
 * - membership complete: every running node sees every other running node
 *   `alive`, and nothing else as live;
 * - a version is everywhere: every running node's sibling set for its key
 *   holds it (VersionWatch also records how many hops the rumor took);
 * - agreement: every running node has the same sibling set for every key
 *   (so the same winner);
 * - traffic: messages and JSON payload bytes per node per round in a window;
 * - failure detection: suspicions and deaths of members that were up and
 *   reachable (false positives), counted once per member and incarnation.
 */
import type { SiblingSet, Version } from '../../src/consensus/types.js';
import { sameVersion } from '../../src/consensus/versions.js';
import { LIMITS, type GossipMessage } from '../../src/gossip/core/messages.js';
import type { MemberRecord } from '../../src/gossip/core/types.js';
import type { SimNode } from './sim-node.js';
import type { SimObserver, Simulation } from './simulation.js';

/**
 * HTTP framing each gossip message costs on top of its JSON body, estimated
 * from http-transport.ts and signing.ts: request line, host, content-type and
 * -length, the five x-gossip-* signature headers (id, key, timestamp, nonce,
 * 86-char signature) ≈ 410 bytes; a 204 response ≈ 120 bytes.
 */
export const HTTP_OVERHEAD_BYTES = 530;

/** Theoretical round counts for spreading one update to n nodes. */
export interface RoundBounds {
  /** the target: 3·log2 N */
  readonly target: number;
  /** push epidemic, fanout 1: log2 N + ln N (Frieze–Grimmett, Pittel) */
  readonly push: number;
  /** push-pull: log3 N + ln ln N (Karp et al.) */
  readonly pushPull: number;
}

export function roundBounds(n: number): RoundBounds {
  const N = Math.max(2, n);
  return {
    target: 3 * Math.log2(N),
    push: Math.log2(N) + Math.log(N),
    pushPull: Math.log(N) / Math.log(3) + Math.log(Math.max(1.0001, Math.log(N))),
  };
}

/** True when every running node sees every other running node alive, and no one else as live. */
export function membershipComplete(sim: Simulation): boolean {
  const up = sim.upNodes();
  const expected = up.length - 1;
  for (const n of up) if (n.core.membership.size() !== expected) return false;
  const ids = new Set(up.map((n) => n.id));
  for (const n of up) {
    let alive = 0;
    for (const m of n.core.membership.members()) {
      if (m.state === 'alive' && ids.has(m.id)) alive++;
    }
    if (alive !== expected) return false;
  }
  return true;
}

/** How many running nodes see every other running node alive (progress, for reports). */
export function nodesWithFullView(sim: Simulation): number {
  const up = sim.upNodes();
  return up.filter((n) => n.core.membership.size() === up.length - 1).length;
}

/** A stable text form of a sibling set: equal sets give equal strings. */
export function setDigest(set: SiblingSet): string {
  return set.map((v) => `${v.origin}:${v.timestamp.wall}.${v.timestamp.logical}:${v.sha256}:${v.tombstone ? 't' : 'l'}`).join(',');
}

/**
 * Keys (of `keys`, or of every key any running node holds) on which two
 * running nodes hold different sibling sets, or that some running node lacks.
 */
export function disagreements(sim: Simulation, keys?: Iterable<string>): string[] {
  const up = sim.upNodes();
  const all = keys === undefined ? new Set(up.flatMap((n) => [...n.store.keys()])) : new Set(keys);
  const bad: string[] = [];
  for (const key of all) {
    const first = up[0];
    if (first === undefined) break;
    const want = setDigest(first.store.siblings(key));
    if (want === '' || up.some((n) => setDigest(n.store.siblings(key)) !== want)) bad.push(key);
  }
  return bad;
}

/** Follows one version: when each node adopted it and over how many hops. */
export class VersionWatch implements SimObserver {
  private readonly reached = new Map<string, { at: number; hops: number | undefined }>();
  readonly writtenAt: number;

  constructor(private readonly sim: Simulation, readonly version: Version, origin: SimNode) {
    this.writtenAt = sim.now;
    this.reached.set(origin.id, { at: sim.now, hops: 0 });
    sim.observers.push(this);
  }

  storeChanged(node: SimNode, key: string, siblings: SiblingSet, via: GossipMessage | undefined): void {
    if (key !== this.version.key || this.reached.has(node.id)) return;
    if (!siblings.some((v) => sameVersion(v, this.version))) return;
    const hops = via?.type === 'versions' && via.hops < LIMITS.maxHops ? via.hops + 1 : undefined;
    this.reached.set(node.id, { at: this.sim.now, hops });
  }

  /** Every running node has adopted the version (at some point). */
  everywhere(): boolean {
    for (const n of this.sim.nodes) if (n.up && !this.reached.has(n.id)) return false;
    return true;
  }

  /** Every live node that owns the body (by its own view) holds it: every node with full replication. */
  bodiesPlaced(): boolean {
    return this.sim.nodes.every((n) => !n.up || !n.core.custody.owns(this.version.sha256) || n.store.hasBody(this.version.sha256));
  }

  /** The deepest rumor hop that first brought it to a node. */
  maxHops(): number {
    let max = 0;
    for (const r of this.reached.values()) if (r.hops !== undefined && r.hops > max) max = r.hops;
    return max;
  }

  /** Share of the nodes reached that got it from a rumor (the rest: anti-entropy or a repair). */
  rumorShare(): number {
    let rumor = 0;
    for (const r of this.reached.values()) if (r.hops !== undefined && r.hops > 0) rumor++;
    return this.reached.size <= 1 ? 0 : rumor / (this.reached.size - 1);
  }

  stop(): void {
    const i = this.sim.observers.indexOf(this);
    if (i >= 0) this.sim.observers.splice(i, 1);
  }
}

export interface TrafficRates {
  /** messages sent per running node per round */
  readonly messages: number;
  /** JSON payload bytes sent per running node per round */
  readonly bytes: number;
  /** the same with HTTP framing estimated (HTTP_OVERHEAD_BYTES a message) */
  readonly wireBytes: number;
  /** payload bytes per node per round of each message type (piggybacked updates included) */
  readonly bytesByType: Readonly<Record<string, number>>;
  /** of `bytes`, the membership updates piggybacked on messages of every type */
  readonly piggyback: number;
  readonly rounds: number;
}

/** Counts traffic from its creation to `rates()`. */
export class TrafficWindow {
  private readonly startAt: number;
  private readonly sent: number;
  private readonly bytes: number;
  private readonly piggyback: number;
  private readonly byType: Map<string, number>;

  constructor(private readonly sim: Simulation) {
    this.startAt = sim.now;
    this.sent = sim.net.sent;
    this.bytes = sim.net.bytes;
    this.piggyback = sim.net.piggybackBytes;
    this.byType = new Map([...sim.net.byType].map(([t, c]) => [t, c.bytes]));
  }

  rates(): TrafficRates {
    const rounds = this.sim.roundsSince(this.startAt);
    const nodes = Math.max(1, this.sim.upNodes().length);
    const per = (x: number) => (rounds > 0 ? x / nodes / rounds : 0);
    const messages = per(this.sim.net.sent - this.sent);
    const bytesByType: Record<string, number> = {};
    for (const [type, c] of this.sim.net.byType) {
      const b = per(c.bytes - (this.byType.get(type) ?? 0));
      if (b > 0) bytesByType[type] = round1(b);
    }
    const bytes = per(this.sim.net.bytes - this.bytes);
    return {
      messages: round1(messages),
      bytes: round1(bytes),
      wireBytes: round1(bytes + messages * HTTP_OVERHEAD_BYTES),
      bytesByType,
      piggyback: round1(per(this.sim.net.piggybackBytes - this.piggyback)),
      rounds: round1(rounds),
    };
  }
}

export interface DetectionCounts {
  /** distinct (member, incarnation) suspected while it was up and reachable from its accuser */
  falseSuspicions: number;
  /** distinct (member, incarnation) declared dead while up and reachable */
  falseDeaths: number;
  /** observers that recorded such a false death (a death is heard by many) */
  falseDeathViews: number;
  /** distinct (member, incarnation) suspected or declared dead while down or cut off: correct detections */
  trueDetections: number;
}

/** Counts failure-detection verdicts against the truth the simulator knows. */
export class DetectionWatch implements SimObserver {
  readonly counts: DetectionCounts = { falseSuspicions: 0, falseDeaths: 0, falseDeathViews: 0, trueDetections: 0 };
  private readonly seen = new Set<string>();

  constructor(private readonly sim: Simulation) {
    sim.observers.push(this);
  }

  memberChanged(observer: SimNode, m: MemberRecord): void {
    if (m.state !== 'suspect' && m.state !== 'dead') return;
    const target = this.sim.byNodeId(m.id);
    const healthy = target !== undefined && target.up && !this.sim.net.isCut(observer.id, m.id) && !this.sim.net.isCut(m.id, observer.id);
    const episode = `${m.state}:${m.id}@${m.incarnation}`;
    if (healthy && m.state === 'dead') this.counts.falseDeathViews++;
    if (this.seen.has(episode)) return;
    this.seen.add(episode);
    if (!healthy) this.counts.trueDetections++;
    else if (m.state === 'suspect') this.counts.falseSuspicions++;
    else this.counts.falseDeaths++;
  }

  stop(): void {
    const i = this.sim.observers.indexOf(this);
    if (i >= 0) this.sim.observers.splice(i, 1);
  }
}

/** Probe counters summed over every running node's failure detector. */
export function probeTotals(sim: Simulation): { probes: number; failed: number; indirect: number } {
  let probes = 0;
  let failed = 0;
  let indirect = 0;
  for (const n of sim.nodes) {
    if (n.status === 'down') continue;
    const s = n.core.membership.probeStats;
    probes += s.probes;
    failed += s.probesFailed;
    indirect += s.indirectProbes;
  }
  return { probes, failed, indirect };
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
