/**
 * A deterministic cluster of data planes for unit tests: N DataPlanes, each
 * with a MemoryVersionStore and a StaticPeers sampler over the whole list,
 * talking over SimNetwork in virtual time. One seed gives one run.
 *
 * A round advances virtual time by `tickMs`: every node ticks, then every
 * message due in that window is delivered (a message sent during the window
 * and due inside it is delivered too, so with latency < tickMs a rumor can
 * hop more than once per round).
 */
import { HybridLogicalClock } from '../../src/consensus/hlc.js';
import { EMPTY_SHA256 } from '../../src/consensus/schema.js';
import type { SiblingSet, Version } from '../../src/consensus/types.js';
import { clockKey } from '../../src/consensus/vector-clock.js';
import { nextClock } from '../../src/consensus/versions.js';
import { DATA_PLANE_OPTIONS, type DataPlaneConfig } from '../../src/gossip/core/data-plane-config.js';
import { buildOptions } from '../../src/options.js';
import { DataPlane } from '../../src/gossip/core/data-plane.js';
import { MemoryVersionStore } from '../../tools/doubles/memory-version-store.js';
import { SeededRandom } from '../../tools/sim/seeded-random.js';
import { PERFECT_LINK, SimNetwork, type LinkModel, type WireMode } from '../../tools/sim/sim-network.js';
import { StaticPeers } from '../../tools/sim/static-peers.js';
import { VirtualClock } from '../../tools/sim/virtual-clock.js';
import type { GossipMessage } from '../../src/gossip/core/messages.js';
import type { NodeId, PeerInfo } from '../../src/gossip/core/types.js';
import { silentLogger } from '../../src/log.js';

export interface SimNode {
  readonly id: NodeId;
  readonly info: PeerInfo;
  readonly store: MemoryVersionStore;
  readonly plane: DataPlane;
  readonly peers: StaticPeers;
  readonly hlc: HybridLogicalClock;
  /** every onBodyNeeded call, in order */
  readonly bodyRequests: { version: Version; holders: NodeId[] }[];
}

export interface DataPlaneSimOptions {
  nodes: number;
  seed: number;
  /** overrides on the localTest profile */
  config?: Partial<DataPlaneConfig>;
  tickMs?: number;
  link?: LinkModel;
  /** on onBodyNeeded, hold the body at once (default true) */
  fetchBodies?: boolean;
  /** do not start the planes (start them yourself, e.g. after loading stores) */
  deferStart?: boolean;
  /** default 'validated': every message is checked against the wire schema, as the HTTP runtime does */
  wire?: WireMode;
}

const logger = silentLogger();

export function nodeIdOf(i: number): NodeId {
  return `n${(i + 1).toString(16).padStart(16, '0')}`;
}

export class DataPlaneSim {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly net: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly config: DataPlaneConfig;
  readonly tickMs: number;
  private readonly dataRandom: SeededRandom;
  roundsRun = 0;
  /** sees every message sent, before the network does */
  tap: ((from: NodeId, to: NodeId, message: GossipMessage) => void) | undefined;

  constructor(options: DataPlaneSimOptions) {
    this.random = new SeededRandom(options.seed);
    this.net = new SimNetwork(this.clock, this.random.fork());
    this.net.link = options.link ?? PERFECT_LINK;
    this.net.wire = options.wire ?? 'validated';
    this.dataRandom = this.random.fork();
    this.tickMs = options.tickMs ?? 100;
    this.config = buildOptions(DATA_PLANE_OPTIONS, options.config ?? {}, 'localTest');
    const infos: PeerInfo[] = Array.from({ length: options.nodes }, (_, i) => ({
      id: nodeIdOf(i),
      address: `127.0.0.1:${10_000 + i}`,
      publicKey: 'A'.repeat(43),
    }));
    for (const info of infos) {
      const random = this.random.fork();
      const store = new MemoryVersionStore();
      const peers = new StaticPeers(info.id, infos, random.fork());
      const bodyRequests: SimNode['bodyRequests'] = [];
      const transport = {
        send: (to: PeerInfo, message: GossipMessage) => {
          this.tap?.(info.id, to.id, message);
          this.net.send(info.id, to.id, message);
        },
      };
      const env = { self: info, transport, clock: this.clock, random, logger };
      const fetch = options.fetchBodies ?? true;
      const plane: DataPlane = new DataPlane(env, {
        store,
        peers,
        onBodyNeeded: (version, holders) => {
          bodyRequests.push({ version, holders });
          if (fetch) {
            store.addBody(version.sha256);
            plane.bodyHeld(version.sha256);
          }
        },
      }, this.config);
      const node: SimNode = { id: info.id, info, store, plane, peers, hlc: new HybridLogicalClock(() => this.clock.now()), bodyRequests };
      this.nodes.push(node);
      this.net.attach(info.id, (message) => plane.handle(message));
    }
    if (options.deferStart !== true) for (const n of this.nodes) n.plane.start();
  }

  node(i: number): SimNode {
    const n = this.nodes[i];
    if (n === undefined) throw new RangeError(`no node ${i}`);
    return n;
  }

  /** A random lower-case UUID from the seeded source. */
  newKey(): string {
    const h = this.hex32() + this.hex32() + this.hex32() + this.hex32();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** A random sha256 (hex) from the seeded source. */
  newSha(): string {
    let h = '';
    for (let i = 0; i < 8; i++) h += this.hex32();
    return h;
  }

  private hex32(): string {
    return Math.floor(this.dataRandom.next() * 0x1_0000_0000).toString(16).padStart(8, '0');
  }

  /** A client write (or delete) at node i, by the write rule; the version is published unless `publish` is false. */
  write(i: number, key: string, options: { tombstone?: boolean; publish?: boolean } = {}): Version {
    const node = this.node(i);
    const version = makeVersion(node, key, options.tombstone === true ? EMPTY_SHA256 : this.newSha(), options.tombstone === true);
    node.store.putLocal(version);
    if (options.publish !== false) node.plane.published(version);
    return version;
  }

  /** One round: every node (or only those listed) ticks, then messages due within tickMs are delivered. */
  async round(only?: readonly number[]): Promise<void> {
    for (const n of only === undefined ? this.nodes : only.map((i) => this.node(i))) n.plane.tick();
    await this.net.deliverUntil(this.clock.now() + this.tickMs);
    this.roundsRun++;
  }

  /** Runs rounds until `done()` holds (checked before each round); returns the rounds run, or -1 past `max`. */
  async runUntil(done: () => boolean, max: number): Promise<number> {
    for (let r = 0; r <= max; r++) {
      if (done()) return r;
      if (r < max) await this.round();
    }
    return -1;
  }

  async runRounds(count: number): Promise<void> {
    for (let r = 0; r < count; r++) await this.round();
  }

  /** Delivers everything in flight (no ticks). */
  async drain(): Promise<void> {
    while (this.net.pending() > 0) await this.net.deliverUntil(this.net.nextDeliveryAt() ?? this.clock.now());
  }

  /** Nodes whose set for `key` contains `version`. */
  holding(version: Version): number {
    const id = clockKey(version.clock);
    return this.nodes.filter((n) => n.store.siblings(version.key).some((v) => clockKey(v.clock) === id)).length;
  }

  /** Every node holds exactly the same sibling sets for every key. */
  agree(): boolean {
    const first = this.node(0);
    const keys = new Set<string>();
    for (const n of this.nodes) for (const k of n.store.keys()) keys.add(k);
    for (const key of keys) {
      const want = fingerprint(first.store.siblings(key));
      for (const n of this.nodes) if (fingerprint(n.store.siblings(key)) !== want) return false;
    }
    return true;
  }
}

export function makeVersion(node: Pick<SimNode, 'id' | 'store' | 'hlc'>, key: string, sha256: string, tombstone = false): Version {
  return Object.freeze({
    key,
    clock: nextClock(node.store.siblings(key), undefined, node.id),
    timestamp: node.hlc.now(),
    origin: node.id,
    sha256,
    size: tombstone ? 0 : 1024,
    contentType: 'application/octet-stream',
    tombstone,
  });
}

/**
 * Fingerprints of frozen sibling sets (every store keeps its sets frozen and
 * replaces a set when it changes), so comparing 100,000 unchanged keys again
 * after each round does not rebuild 100,000 strings.
 */
const fingerprints = new WeakMap<SiblingSet, string>();

/** A canonical text of a sibling set, for comparing nodes. */
export function fingerprint(set: SiblingSet): string {
  const known = fingerprints.get(set);
  if (known !== undefined) return known;
  const text = set.map((v) => `${clockKey(v.clock)}|${v.sha256}|${v.tombstone ? 't' : 'l'}|${v.origin}|${v.timestamp.wall}.${v.timestamp.logical}`).join(';');
  if (Object.isFrozen(set)) fingerprints.set(set, text);
  return text;
}
