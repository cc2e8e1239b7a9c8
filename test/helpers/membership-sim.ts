/**
 * Drives a cluster of Membership state machines over SimNetwork in virtual
 * time: every step, each running node ticks, then the network delivers what
 * is due. One seed gives one run. Outgoing messages get piggybacked updates
 * exactly as GossipCore adds them (only when the message carries none).
 */
import { Membership } from '../../src/gossip/core/membership.js';
import type { MembershipOptions } from '../../src/gossip/core/membership-config.js';
import type { GossipMessage } from '../../src/gossip/core/messages.js';
import { SeededRandom } from '../../tools/sim/seeded-random.js';
import { SimNetwork, type LinkModel, type WireMode } from '../../tools/sim/sim-network.js';
import { VirtualClock } from '../../tools/sim/virtual-clock.js';
import type { MemberState, NodeId, PeerInfo, Transport } from '../../src/gossip/core/types.js';
import { nodeIdFromPublicKey } from '../../src/identity/node-id.js';
import { silentLogger } from '../../src/log.js';

export interface SimNode {
  readonly index: number;
  readonly info: PeerInfo;
  membership: Membership;
  /** false while crashed or paused: no ticks, and messages to it are lost */
  up: boolean;
}

/** One state change as one node saw it. */
export interface ChangeEvent {
  readonly at: number;
  readonly observer: NodeId;
  readonly member: NodeId;
  readonly state: MemberState;
  readonly incarnation: number;
}

export interface MembershipSimOptions {
  nodes: number;
  seed: number;
  options: MembershipOptions;
  link?: LinkModel;
  /** 'validated' checks every message against the wire schema, as the HTTP runtime does */
  wire?: WireMode;
  /** virtual ms per step; defaults to options.tickMs */
  stepMs?: number;
}

/** A deterministic identity for node `i` of a run: a key from the seeded source, its id, an address. */
export function simPeer(i: number, random: SeededRandom): PeerInfo {
  const key = Buffer.alloc(32);
  for (let b = 0; b < 32; b++) key[b] = random.int(256);
  const publicKey = key.toString('base64url');
  return { id: nodeIdFromPublicKey(publicKey), address: `10.0.${i >> 8}.${i & 255}:7000`, publicKey };
}

export class MembershipSim {
  readonly clock = new VirtualClock();
  readonly net: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly changes: ChangeEvent[] = [];
  readonly stepMs: number;
  private readonly directory = new Map<NodeId, PeerInfo>();
  private readonly netRandom: SeededRandom;
  private readonly nodeRandom: SeededRandom;
  private readonly logger = silentLogger();

  constructor(readonly config: MembershipSimOptions) {
    const root = new SeededRandom(config.seed);
    this.netRandom = root.fork();
    this.nodeRandom = root.fork();
    const ids = root.fork();
    this.net = new SimNetwork(this.clock, this.netRandom);
    if (config.link !== undefined) this.net.link = config.link;
    if (config.wire !== undefined) this.net.wire = config.wire;
    this.stepMs = config.stepMs ?? config.options.tickMs;
    for (let i = 0; i < config.nodes; i++) {
      const info = simPeer(i, ids);
      this.directory.set(info.id, info);
      const node: SimNode = { index: i, info, membership: this.create(info), up: true };
      this.nodes.push(node);
      this.attach(node);
    }
  }

  get now(): number {
    return this.clock.now();
  }

  node(i: number): SimNode {
    const node = this.nodes[i];
    if (node === undefined) throw new RangeError(`no node ${i}`);
    return node;
  }

  /** Seeds node i with node i−1 only: the slowest way to learn a cluster. */
  seedChain(): void {
    for (let i = 1; i < this.nodes.length; i++) this.node(i).membership.addSeeds([this.node(i - 1).info]);
  }

  /** Seeds every node with node `hub` (as if the Point had returned only it). */
  seedStar(hub = 0): void {
    for (const node of this.nodes) if (node.index !== hub) node.membership.addSeeds([this.node(hub).info]);
  }

  /** Sum of a Membership counter over all nodes. */
  total(pick: (m: Membership) => number): number {
    return this.nodes.reduce((sum, n) => sum + pick(n.membership), 0);
  }

  /** Runs `ms` of virtual time. */
  async run(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) await this.step();
  }

  /** Runs until `done()` holds (checked every step); the virtual ms it took, or undefined past `maxMs`. */
  async runUntil(done: () => boolean, maxMs: number): Promise<number | undefined> {
    const start = this.clock.now();
    while (!done()) {
      if (this.clock.now() - start >= maxMs) return undefined;
      await this.step();
    }
    return this.clock.now() - start;
  }

  async step(): Promise<void> {
    for (const node of this.nodes) if (node.up) node.membership.tick();
    await this.net.deliverUntil(this.clock.now() + this.stepMs);
  }

  /** Stops a node: it neither ticks nor receives (a crash, or SIGSTOP when `resume` follows). */
  stop(i: number): void {
    const node = this.node(i);
    node.up = false;
    this.net.detach(node.info.id);
  }

  /** Resumes a stopped node with its state intact (SIGCONT). */
  resume(i: number): void {
    const node = this.node(i);
    node.up = true;
    this.attach(node);
  }

  /** Restarts a stopped node with empty state (incarnation 0), seeded with `seeds`. */
  restart(i: number, seeds: PeerInfo[]): void {
    const node = this.node(i);
    node.membership = this.create(node.info);
    node.up = true;
    this.attach(node);
    node.membership.addSeeds(seeds);
  }

  /** How node `observer` sees `member`: its state, or undefined if unknown. */
  stateOf(observer: number, member: number): MemberState | undefined {
    const id = this.node(member).info.id;
    return this.node(observer).membership.members().find((m) => m.id === id)?.state;
  }

  /** True if every running node sees every other running node in `state` and knows nothing more that is live. */
  allSee(state: MemberState = 'alive'): boolean {
    const up = this.nodes.filter((n) => n.up);
    return up.every((o) => {
      const view = new Map(o.membership.members().map((m) => [m.id, m.state]));
      return up.every((t) => t === o || view.get(t.info.id) === state);
    });
  }

  /** True if every running node other than `member` sees it in `state`. */
  everyoneSees(member: number, state: MemberState): boolean {
    return this.nodes.every((o) => !o.up || o.index === member || this.stateOf(o.index, member) === state);
  }

  private create(info: PeerInfo): Membership {
    const random = this.nodeRandom.fork();
    const self: { membership?: Membership } = {};
    const net = this.net;
    const transport: Transport = {
      send: (to: PeerInfo, message: GossipMessage) => {
        // what GossipCore does: piggyback on every message that carries no updates of its own
        const updates = message.updates === undefined ? self.membership?.piggyback() : undefined;
        net.send(info.id, to.id, updates === undefined ? message : { ...message, updates });
      },
    };
    const membership = new Membership({ self: info, transport, clock: this.clock, random, logger: this.logger }, this.config.options);
    self.membership = membership;
    membership.onChange((m) => {
      this.changes.push({ at: this.clock.now(), observer: info.id, member: m.id, state: m.state, incarnation: m.incarnation });
    });
    return membership;
  }

  private attach(node: SimNode): void {
    this.net.attach(node.info.id, (message: GossipMessage, from: NodeId) => {
      node.membership.handle(message, this.directory.get(from));
    });
  }
}
