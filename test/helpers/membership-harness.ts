/**
 * One Membership under test, alone: a virtual clock, a seeded random source,
 * and a transport that records what it sends. Tests play the peers by
 * handing it messages and reading what it sent back.
 */
import { Membership } from '../../src/gossip/core/membership.js';
import { MEMBERSHIP_OPTIONS, type MembershipOptions } from '../../src/gossip/core/membership-config.js';
import { buildOptions } from '../../src/options.js';
import { PROTOCOL_VERSION, type GossipMessage, type MemberUpdate, type MessageBody, type MessageOf } from '../../src/gossip/core/messages.js';
import { SeededRandom } from '../../tools/sim/seeded-random.js';
import { VirtualClock } from '../../tools/sim/virtual-clock.js';
import type { MemberRecord, MemberState, PeerInfo } from '../../src/gossip/core/types.js';
import { silentLogger } from '../../src/log.js';
import { simPeer } from './membership-sim.js';

export interface Sent {
  readonly at: number;
  readonly to: PeerInfo;
  readonly message: GossipMessage;
}

export class MembershipHarness {
  readonly clock = new VirtualClock();
  readonly self: PeerInfo;
  /** peers[0..n-1], not yet known to the membership */
  readonly peers: PeerInfo[];
  readonly sent: Sent[] = [];
  readonly changes: MemberRecord[] = [];
  readonly membership: Membership;
  readonly options: MembershipOptions;

  constructor(options: Partial<MembershipOptions> = {}, config: { peers?: number; seed?: number } = {}) {
    this.options = buildOptions(MEMBERSHIP_OPTIONS, options, 'localTest');
    const ids = new SeededRandom((config.seed ?? 1) + 7_919);
    this.self = simPeer(0, ids);
    this.peers = Array.from({ length: config.peers ?? 5 }, (_, i) => simPeer(i + 1, ids));
    const transport = { send: (to: PeerInfo, message: GossipMessage) => void this.sent.push({ at: this.clock.now(), to, message }) };
    this.membership = new Membership(
      { self: this.self, transport, clock: this.clock, random: new SeededRandom(config.seed ?? 1), logger: silentLogger() },
      this.options,
    );
    this.membership.onChange((m) => this.changes.push(m));
  }

  peer(i: number): PeerInfo {
    const p = this.peers[i];
    if (p === undefined) throw new RangeError(`no peer ${i}`);
    return p;
  }

  /** Makes peers 0..count-1 known, as seeds. */
  know(count = this.peers.length): void {
    this.membership.addSeeds(this.peers.slice(0, count));
  }

  /** When set, peers for which it returns true ack every ping at once (as the tick that sent it ends). */
  answering: ((to: PeerInfo) => boolean) | undefined;

  /** Advances virtual time by `ms`, ticking every tickMs. */
  advance(ms: number): void {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advanceTo(Math.min(end, this.clock.now() + this.options.tickMs));
      const before = this.sent.length;
      this.membership.tick();
      if (this.answering === undefined) continue;
      for (const s of this.sent.slice(before)) {
        if (s.message.type === 'ping' && this.answering(s.to)) this.receive(s.to, { type: 'ack', seq: s.message.seq });
      }
    }
  }

  /** Advances tick by tick until `done()` holds; throws past `maxMs`. */
  advanceUntil(done: () => boolean, maxMs = 60_000): void {
    const end = this.clock.now() + maxMs;
    while (!done()) {
      if (this.clock.now() >= end) throw new Error(`condition not met within ${maxMs} virtual ms`);
      this.advance(this.options.tickMs);
    }
  }

  /** Delivers a message from peer `from`. */
  receive(from: PeerInfo, body: MessageBody, updates?: MemberUpdate[]): void {
    const message = { v: PROTOCOL_VERSION, from: from.id, ...body, ...(updates === undefined ? {} : { updates }) } as GossipMessage;
    this.membership.handle(message, from);
  }

  /** A claim about peer `p`. */
  claim(p: PeerInfo, state: MemberState, incarnation = 0, by?: string): MemberUpdate {
    const u: MemberUpdate = { id: p.id, address: p.address, publicKey: p.publicKey, incarnation, state };
    if (by !== undefined) u.by = by;
    return u;
  }

  /** Sent messages of one type, oldest first. */
  sentOf<T extends GossipMessage['type']>(type: T): (Sent & { message: MessageOf<T> })[] {
    return this.sent.filter((s): s is Sent & { message: MessageOf<T> } => s.message.type === type);
  }

  /** Drains and returns what was sent. */
  take(): Sent[] {
    return this.sent.splice(0);
  }

  stateOf(p: PeerInfo): MemberRecord | undefined {
    return this.membership.members().find((m) => m.id === p.id);
  }

  /** Empties the broadcast queue; the distinct updates it held, in the order first sent. */
  drainPiggyback(): MemberUpdate[] {
    const out = new Map<string, MemberUpdate>();
    for (let i = 0; i < 1_000; i++) {
      const batch = this.membership.piggyback();
      if (batch === undefined) break;
      for (const u of batch) out.set(JSON.stringify(u), u);
    }
    return [...out.values()];
  }
}
