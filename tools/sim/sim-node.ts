/**
 * One virtual node: the real protocol core (GossipCore, unchanged) over an
 * in-memory version store (its "disk") and the simulated network, with the
 * faults a process can suffer:
 *
 * - `pause()` / `resume()`: the process stops and continues with its memory
 *   intact (SIGSTOP / SIGCONT, a long GC pause, a VM migration);
 * - `crash()` / `restart()`: the process dies; its memory is gone, its store
 *   survives (`wipe` loses the store too: a replaced machine). The restarted
 *   core starts at incarnation 0 from the persisted peer list, as the runtime does;
 * - `slow`: ticks only every `tickEvery`-th tick, and (through the network)
 *   reads its messages late: an overloaded node, Lifeguard's case.
 *
 * A crashed core object may still hold references to the transport; every
 * transport handed to a core is bound to the core's epoch, so a dead core can
 * never send again.
 */
import { createHash } from 'node:crypto';
import { HybridLogicalClock } from '../../src/consensus/hlc.js';
import { EMPTY_SHA256 } from '../../src/consensus/schema.js';
import type { SiblingSet, Version } from '../../src/consensus/types.js';
import { nextClock } from '../../src/consensus/versions.js';
import { nodeIdFromPublicKey } from '../../src/identity/node-id.js';
import type { Logger } from '../../src/log.js';
import { GossipCore, type GossipCoreOptions } from '../../src/gossip/core/gossip-core.js';
import type { GossipMessage } from '../../src/gossip/core/messages.js';
import { MemoryVersionStore } from '../doubles/memory-version-store.js';
import type { MemberRecord, NodeId, PeerInfo, Transport } from '../../src/gossip/core/types.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimNetwork } from './sim-network.js';
import type { VirtualClock } from './virtual-clock.js';

export type NodeStatus = 'up' | 'paused' | 'down';

/** What a node tells the simulation about itself (metrics and the trace). */
export interface SimNodeHooks {
  /** a key's sibling set changed in this node's store; `via` is the message being handled, if any */
  storeChanged(node: SimNode, key: string, siblings: SiblingSet, via: GossipMessage | undefined): void;
  /** this node's view of a member changed */
  memberChanged(node: SimNode, member: MemberRecord): void;
  /** the core asks for a body it lacks */
  bodyNeeded(node: SimNode, version: Version, holders: NodeId[]): void;
}

export interface SimNodeDeps {
  readonly net: SimNetwork;
  readonly clock: VirtualClock;
  /** this node's own random stream; each core incarnation gets a fork */
  readonly random: SeededRandom;
  readonly logger: Logger;
  readonly options: GossipCoreOptions;
  readonly hooks: SimNodeHooks;
  /** the verified identity of a sender (the HTTP runtime has it from the signature and the Point) */
  readonly directory: (id: NodeId) => PeerInfo | undefined;
}

/** A deterministic identity for node `index`: a key from the seeded source, the id it implies, an address. */
export function simIdentity(index: number, random: SeededRandom): PeerInfo {
  const key = Buffer.alloc(32);
  for (let b = 0; b < 32; b++) key[b] = random.int(256);
  const publicKey = key.toString('base64url');
  return { id: nodeIdFromPublicKey(publicKey), address: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}:7000`, publicKey };
}

export class SimNode {
  core: GossipCore;
  store: MemoryVersionStore;
  status: NodeStatus = 'down';
  /** ticks only every `tickEvery`-th simulation tick (1 = every tick) */
  tickEvery = 1;
  /**
   * How far this node's wall clock is from virtual time, ms (a clock fault:
   * set it to bump, change it step by step to drift). Its timers run on the
   * virtual (monotonic) clock and do not move.
   */
  wallSkewMs = 0;
  /** this node's wall clock: virtual time plus its skew */
  readonly wall = { now: (): number => this.deps.clock.now() + this.wallSkewMs };
  /** the message being handled, so store changes can be attributed to it (hops) */
  private handling: GossipMessage | undefined;
  private epoch = 0;
  private ticks = 0;
  private hlc: HybridLogicalClock;
  /** the peer list the runtime persisted (taken at the crash; the runtime writes it every few seconds) */
  private persisted: PeerInfo[] = [];

  constructor(
    readonly index: number,
    readonly info: PeerInfo,
    private readonly deps: SimNodeDeps,
  ) {
    this.store = this.newStore();
    this.core = this.newCore();
    this.hlc = new HybridLogicalClock(() => this.wall.now());
  }

  get id(): NodeId {
    return this.info.id;
  }

  get up(): boolean {
    return this.status === 'up';
  }

  /** Starts the core with `seeds` (from the Point's look) and joins the network. */
  start(seeds: PeerInfo[]): void {
    // a fresh core, as a process start makes one: its custody's settle period runs from now
    this.core = this.newCore();
    this.status = 'up';
    this.attach();
    this.core.start(seeds.filter((p) => p.id !== this.id));
  }

  tick(): void {
    if (this.status !== 'up') return;
    if (++this.ticks % this.tickEvery !== 0) return;
    this.core.tick();
  }

  /** A message from the network. */
  async receive(message: GossipMessage, from: NodeId): Promise<void> {
    if (this.status !== 'up') return;
    this.handling = message;
    try {
      await this.core.handle(message, this.deps.directory(from));
    } finally {
      this.handling = undefined;
    }
  }

  /**
   * A client write accepted here: the version the write rule gives (no client
   * context, so writes on two nodes to one key are concurrent), stored with
   * its body and spread.
   */
  write(key: string, content: string, size: number, tombstone = false): Version {
    const sha256 = tombstone ? EMPTY_SHA256 : createHash('sha256').update(content).digest('hex');
    const version: Version = Object.freeze({
      key,
      clock: nextClock(this.store.siblings(key), undefined, this.id),
      timestamp: this.hlc.now(),
      origin: this.id,
      sha256,
      size: tombstone ? 0 : size,
      contentType: 'application/octet-stream',
      tombstone,
    });
    this.store.putLocal(version);
    if (this.status === 'up') this.core.published(version);
    return version;
  }

  /**
   * A body fetched from a peer arrived: what the runtime's fetcher does once
   * it is stored (onStored in src/gossip/shell/runtime.ts). The data plane
   * announces it from now on, and custody is told, which keeps it as cache
   * when this node does not own it (a read-through; the simulator issues no
   * reads, so here only a body whose ownership moved while it was on its way).
   */
  bodyArrived(version: Version): void {
    if (this.status !== 'up') return;
    this.store.addBody(version.sha256);
    this.core.data.bodyHeld(version.sha256);
    this.core.custody.cachedForRead(version.sha256, version.size);
  }

  /** Counts crashes: a transfer started by an earlier incarnation dies with it. */
  get incarnation(): number {
    return this.epoch;
  }

  /** SIGSTOP: no ticks, messages to it are lost, memory kept. */
  pause(): void {
    if (this.status !== 'up') return;
    this.status = 'paused';
    this.deps.net.detach(this.id);
  }

  /** SIGCONT after pause(). */
  resume(): void {
    if (this.status !== 'paused') return;
    this.status = 'up';
    this.attach();
  }

  /** The process dies: its memory is lost; the store survives unless `wipe`. */
  crash(wipe = false): void {
    if (this.status === 'down') return;
    this.persisted = this.core.membership.snapshot();
    this.status = 'down';
    this.deps.net.detach(this.id);
    this.core.data.stop();
    this.epoch++;
    if (wipe) {
      this.store = this.newStore();
      this.persisted = [];
    }
    this.core = this.newCore();
    this.hlc = new HybridLogicalClock(() => this.wall.now());
  }

  /** Starts a crashed node again from its persisted peer list plus `seeds` (the Point). */
  restart(seeds: PeerInfo[]): void {
    if (this.status !== 'down') return;
    const known = new Map(this.persisted.map((p) => [p.id, p]));
    for (const s of seeds) known.set(s.id, s);
    this.start([...known.values()]);
  }

  private attach(): void {
    this.deps.net.attach(this.id, (message, from) => this.receive(message, from));
  }

  private newStore(): MemoryVersionStore {
    const store = new MemoryVersionStore();
    store.onChange((key, siblings) => {
      if (store === this.store) this.deps.hooks.storeChanged(this, key, siblings, this.handling);
    });
    return store;
  }

  private newCore(): GossipCore {
    const epoch = this.epoch;
    const net = this.deps.net;
    const from = this.id;
    const transport: Transport = {
      send: (to: PeerInfo, message: GossipMessage) => {
        if (epoch === this.epoch && this.status === 'up') net.send(from, to.id, message);
      },
    };
    const env = { self: this.info, transport, clock: this.deps.clock, wall: this.wall, random: this.deps.random.fork(), logger: this.deps.logger };
    const core = new GossipCore(env, this.store, this.deps.options, (version, holders) => {
      if (epoch === this.epoch) this.deps.hooks.bodyNeeded(this, version, holders);
    });
    core.membership.onChange((m) => {
      if (epoch === this.epoch) this.deps.hooks.memberChanged(this, m);
    });
    return core;
  }
}
