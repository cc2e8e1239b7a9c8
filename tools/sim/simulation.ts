/**
 * Drives a cluster of SimNodes in virtual time. One step is one tick
 * (membership `tickMs`): scheduled events (faults, body arrivals, writes) and
 * message deliveries due by the end of the step run in time order, then every
 * running node ticks, in an order drawn afresh from the seeded source each
 * step. Nothing reads a real clock or Math.random: one seed is one run, and
 * `trace` hashes every delivery, event and write so two runs can be compared.
 *
 * A **round** is one anti-entropy interval of the data plane
 * (`antiEntropyIntervalMs`): in it every node opens one push-pull session
 * with a random peer. The simulation profile (profiles.ts) sets the
 * membership probe interval to the same length, so a round is also one SWIM
 * protocol period (one probe per node). Rumors are forwarded on receipt, so a
 * write can travel several hops within one round; hops are reported apart.
 */
import type { SiblingSet, Version } from '../../src/consensus/types.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { GossipCoreOptions } from '../../src/gossip/core/gossip-core.js';
import type { GossipMessage, GossipMessageType } from '../../src/gossip/core/messages.js';
import type { MemberRecord, NodeId, PeerInfo } from '../../src/gossip/core/types.js';
import { sampleLatency } from './latency.js';
import { Scheduler } from './scheduler.js';
import { SimBodies, type BodyModel } from './sim-bodies.js';
import { SimNetwork, type LinkModel, type WireMode } from './sim-network.js';
import { SimNode, simIdentity, type SimNodeHooks } from './sim-node.js';
import { SeededRandom } from './seeded-random.js';
import { TraceHash } from './trace.js';
import { VirtualClock } from './virtual-clock.js';

export interface SimulationConfig {
  readonly nodes: number;
  readonly seed: number;
  readonly core: GossipCoreOptions;
  readonly link: LinkModel;
  readonly wire: WireMode;
  /** peers the (simulated) Point hands a node when it starts, and every lookIntervalMs after */
  readonly lookCount: number;
  /** 0: no periodic look */
  readonly lookIntervalMs: number;
  /** nodes start at random times within this window (0: all at once) */
  readonly joinWindowMs: number;
  readonly bodies: BodyModel;
}

/** Someone who wants to hear what happens inside the nodes (metrics). */
export interface SimObserver {
  storeChanged?(node: SimNode, key: string, siblings: SiblingSet, via: GossipMessage | undefined): void;
  memberChanged?(node: SimNode, member: MemberRecord): void;
}

const TYPE_CODES: Readonly<Record<GossipMessageType, number>> = {
  ping: 1, ack: 2, 'ping-req': 3, nack: 4, members: 5, versions: 6, 'ae-nodes': 7, 'ae-keys': 8, 'ae-want': 9, leave: 10, 'have-query': 11, have: 12, unstage: 13, 'key-query': 14, 'key-state': 15, revocations: 16,
};

export class Simulation {
  readonly clock = new VirtualClock();
  readonly net: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly scheduler = new Scheduler();
  readonly trace = new TraceHash();
  readonly bodies: SimBodies;
  readonly tickMs: number;
  readonly roundMs: number;
  /** virtual time when the simulation was created */
  readonly t0: number;
  readonly observers: SimObserver[] = [];
  private readonly byId = new Map<NodeId, SimNode>();
  private readonly indexOf = new Map<NodeId, number>();
  /** tick order, look-ups, scenario choices */
  private readonly random: SeededRandom;
  private readonly linkRandom: SeededRandom;
  private readonly order: SimNode[] = [];
  private readonly logger: Logger = silentLogger();
  private steps = 0;

  constructor(readonly config: SimulationConfig) {
    if (!Number.isInteger(config.nodes) || config.nodes < 1) throw new RangeError(`nodes must be a positive integer (got ${config.nodes})`);
    const root = new SeededRandom(config.seed);
    const identities = root.fork();
    const nodeRandom = root.fork();
    this.random = root.fork();
    this.linkRandom = root.fork();
    this.net = new SimNetwork(this.clock, root.fork());
    this.net.link = config.link;
    this.net.wire = config.wire;
    this.net.observer = (at, from, to, type, bytes) => {
      const t = this.trace;
      t.number(at);
      t.number(this.indexOf.get(from) ?? -1);
      t.number(this.indexOf.get(to) ?? -1);
      t.number(TYPE_CODES[type]);
      t.number(bytes);
      t.end();
    };
    this.tickMs = config.core.membership.tickMs;
    this.roundMs = config.core.data.antiEntropyIntervalMs;
    this.t0 = this.clock.now();
    const hooks: SimNodeHooks = {
      storeChanged: (node, key, siblings, via) => {
        for (const o of this.observers) o.storeChanged?.(node, key, siblings, via);
      },
      memberChanged: (node, member) => {
        for (const o of this.observers) o.memberChanged?.(node, member);
      },
      bodyNeeded: (node, version, holders) => this.bodies.want(node, version, holders),
    };
    const directory = (id: NodeId) => this.byId.get(id)?.info;
    for (let i = 0; i < config.nodes; i++) {
      const info = simIdentity(i, identities);
      const node = new SimNode(i, info, { net: this.net, clock: this.clock, random: nodeRandom.fork(), logger: this.logger, options: config.core, hooks, directory });
      this.nodes.push(node);
      this.byId.set(info.id, node);
      this.indexOf.set(info.id, i);
    }
    this.bodies = new SimBodies({
      now: () => this.clock.now(),
      node: (id) => this.byId.get(id),
      connected: (a, b) => !this.net.isCut(a, b) && !this.net.isCut(b, a),
      latency: () => sampleLatency(this.net.link.latency, this.linkRandom),
      schedule: (at, label, run) => this.scheduler.at(at, label, run),
    }, config.bodies);
  }

  get now(): number {
    return this.clock.now();
  }

  /** Rounds elapsed since `since` (virtual ms), fractional. */
  roundsSince(since: number): number {
    return (this.clock.now() - since) / this.roundMs;
  }

  node(i: number): SimNode {
    const n = this.nodes[i];
    if (n === undefined) throw new RangeError(`no node ${i} (the simulation has ${this.nodes.length})`);
    return n;
  }

  byNodeId(id: NodeId): SimNode | undefined {
    return this.byId.get(id);
  }

  upNodes(): SimNode[] {
    return this.nodes.filter((n) => n.up);
  }

  /** Runs `run` at virtual time `at` (≥ now); `label` goes into the trace. */
  at(at: number, label: string, run: () => void): void {
    this.scheduler.at(Math.max(at, this.clock.now()), label, () => {
      this.trace.string(label);
      this.trace.number(this.clock.now());
      this.trace.end();
      run();
    });
  }

  /**
   * Starts every node (but the `standby` ones, which join() starts later): at
   * once, or spread over `joinWindowMs`. Each gets `lookCount` peers from the
   * Point among the nodes already started (the first one gets none and waits
   * to be found), and a periodic look after.
   */
  startAll(standby: readonly number[] = []): void {
    const window = this.config.joinWindowMs;
    const held = new Set(standby);
    const starts = this.nodes.filter((n) => !held.has(n.index)).map((n) => ({ n, at: window > 0 ? this.t0 + Math.floor(this.random.next() * window) : this.t0 }));
    starts.sort((a, b) => a.at - b.at || a.n.index - b.n.index);
    const registered: SimNode[] = [];
    for (const { n, at } of starts) {
      if (window === 0) {
        registered.push(n);
        continue;
      }
      this.at(at, `start ${n.index}`, () => {
        n.start(this.look(n, registered));
        registered.push(n);
        this.scheduleLook(n);
      });
    }
    if (window === 0) {
      // all register at once: each look sees every node
      const seeds = registered.map((n) => this.look(n, registered, false));
      registered.forEach((n, i) => n.start(seeds[i] ?? []));
      for (const n of registered) this.scheduleLook(n);
    }
  }

  /**
   * A node that has never run (a standby of startAll) joins now: it
   * registers with the Point, gets `lookCount` running peers from it, and
   * looks again periodically, as a node started later in production does.
   */
  join(i: number): void {
    const node = this.node(i);
    if (node.status !== 'down') throw new Error(`node ${i} is already running`);
    this.trace.string(`join ${i}`);
    this.trace.end();
    node.start(this.look(node));
    this.scheduleLook(node);
  }

  /** What the Point's look answers `node`: up to lookCount random nodes of `pool` (running ones, if `onlyUp`). */
  look(node: SimNode, pool: readonly SimNode[] = this.nodes, onlyUp = true): PeerInfo[] {
    const live = pool.filter((p) => (p.up || !onlyUp) && p !== node);
    const out: PeerInfo[] = [];
    for (let i = 0; i < live.length && out.length < this.config.lookCount; i++) {
      const j = i + Math.floor(this.random.next() * (live.length - i));
      [live[i], live[j]] = [live[j] as SimNode, live[i] as SimNode];
      out.push((live[i] as SimNode).info);
    }
    return out;
  }

  private scheduleLook(node: SimNode): void {
    const every = this.config.lookIntervalMs;
    if (every <= 0) return;
    const next = this.clock.now() + every;
    this.scheduler.at(next, 'look', () => {
      if (node.up) node.core.membership.addSeeds(this.look(node));
      this.scheduleLook(node);
    });
  }

  /** One tick: events and deliveries due by its end, in time order, then every running node's tick. */
  async step(): Promise<void> {
    const end = this.clock.now() + this.tickMs;
    for (;;) {
      const nextEvent = this.scheduler.nextAt();
      if (nextEvent === undefined || nextEvent > end) break;
      await this.net.deliverUntil(nextEvent);
      for (let e = this.scheduler.popDue(this.clock.now()); e !== undefined; e = this.scheduler.popDue(this.clock.now())) e.run();
    }
    await this.net.deliverUntil(end);
    this.tickAll();
    this.steps++;
  }

  private tickAll(): void {
    const order = this.order;
    order.length = 0;
    for (const n of this.nodes) if (n.up) order.push(n);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random.next() * (i + 1));
      const t = order[i] as SimNode;
      order[i] = order[j] as SimNode;
      order[j] = t;
    }
    for (const n of order) n.tick();
  }

  /** Runs `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) await this.step();
  }

  async runRounds(rounds: number): Promise<void> {
    await this.runFor(rounds * this.roundMs);
  }

  /**
   * Runs until `done()` holds, checking every `checkEveryMs` (default: every
   * tick). Returns the virtual ms it took, or undefined after `maxMs`.
   */
  async runUntil(done: () => boolean, maxMs: number, checkEveryMs = this.tickMs): Promise<number | undefined> {
    const start = this.clock.now();
    let nextCheck = start;
    for (;;) {
      if (this.clock.now() >= nextCheck) {
        if (done()) return this.clock.now() - start;
        nextCheck = this.clock.now() + checkEveryMs;
      }
      if (this.clock.now() - start >= maxMs) return undefined;
      await this.step();
    }
  }

  /** A client write of a new random key (or `key`) at node `i`; recorded in the trace. */
  write(i: number, key: string = this.newKey(), size = 4096): Version {
    const node = this.node(i);
    const version = node.write(key, `${this.config.seed}:${key}:${this.clock.now()}:${i}`, size);
    this.trace.string(`write ${i} ${key} ${version.sha256}`);
    this.trace.end();
    return version;
  }

  /** A fresh GUID key from the seeded source. */
  newKey(): string {
    let hex = '';
    for (let i = 0; i < 4; i++) hex += Math.floor(this.random.next() * 0x1_0000_0000).toString(16).padStart(8, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  /** A random integer in [0, n) from the scenario's stream. */
  pick(n: number): number {
    return Math.floor(this.random.next() * n);
  }

  /** Ticks run so far. */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * Mixes every running node's final view (members and their states, each
   * key's sibling set, and which bodies it holds) into the trace and returns
   * the digest.
   */
  finalDigest(): string {
    for (const n of this.nodes) {
      this.trace.string(`${n.index}:${n.status}`);
      if (n.status === 'down') continue;
      const members = n.core.membership.members().sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const m of members) this.trace.string(`${m.id}${m.state}${m.incarnation}`);
      const keys = [...n.store.keys()].sort();
      for (const k of keys) for (const v of n.store.siblings(k)) this.trace.string(`${k}${v.sha256}${v.timestamp.wall}.${v.timestamp.logical}${n.store.hasBody(v.sha256) ? 'b' : ''}`);
      this.trace.end();
    }
    return this.trace.digest();
  }
}
