/**
 * The simulator's network: a priority queue of deliveries in virtual time,
 * with latency, loss, duplication, slow receivers and cuts (partitions,
 * one-way links) decided by a seeded random source, so one seed gives one
 * run. Messages are delivered one at a time and every microtask a delivery
 * started finishes before the next one, so async handlers stay deterministic.
 *
 * Every message crosses the "wire" as JSON, as it does over HTTP: its size
 * is its exact JSON length, and the receiver gets its own copy, as parsed
 * from that JSON (wire-codec.ts builds both without serialising every
 * message whole). In `validated` mode every message is really serialised,
 * parsed and checked against the wire schema (messages.ts) exactly as the
 * HTTP runtime checks it; a message the real receiver would refuse with 400
 * is dropped and recorded as a wire violation, which the tests require to
 * be zero.
 */
import { parseGossipMessage, type GossipMessage, type GossipMessageType } from '../../src/gossip/core/messages.js';
import type { NodeId, PeerInfo, Transport } from '../../src/gossip/core/types.js';
import { LAN_LATENCY, sampleLatency, type LatencyModel } from './latency.js';
import { DeliveryQueue, type Delivery } from './delivery-queue.js';
import { WireCodec } from './wire-codec.js';
import type { SeededRandom } from './seeded-random.js';
import type { VirtualClock } from './virtual-clock.js';

export interface LinkModel {
  /** one-way latency distribution */
  readonly latency: LatencyModel;
  /** probability a message is lost */
  readonly loss: number;
  /** probability a message that is not lost is delivered twice (each copy with its own latency) */
  readonly duplicate: number;
}

export const PERFECT_LINK: LinkModel = Object.freeze({ latency: { kind: 'constant', ms: 1 } as const, loss: 0, duplicate: 0 });
export const LAN_LINK: LinkModel = Object.freeze({ latency: LAN_LATENCY, loss: 0, duplicate: 0 });

/**
 * How faithfully messages cross the wire. `json`: serialised and parsed.
 * `validated`: also checked against the wire schema, as the HTTP runtime does
 * (slower: use it in tests and in small runs).
 */
export type WireMode = 'json' | 'validated';

export type Receiver = (message: GossipMessage, from: NodeId) => unknown;

/** Messages from any of `from` to any of `to` are dropped. */
interface Cut {
  readonly from: ReadonlySet<NodeId>;
  readonly to: ReadonlySet<NodeId>;
}

/** A message the receiving runtime would have refused (400), with why. */
export interface WireViolation {
  readonly at: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly error: string;
}

export interface TypeCounter {
  messages: number;
  bytes: number;
}

/** Called for each delivery, before the receiver runs (the simulation's trace). */
export type DeliveryObserver = (at: number, from: NodeId, to: NodeId, type: GossipMessageType, bytes: number) => void;

export class SimNetwork {
  private readonly queue = new DeliveryQueue();
  private readonly receivers = new Map<NodeId, Receiver>();
  private readonly extraDelay = new Map<NodeId, number>();
  private cuts: Cut[] = [];
  private order = 0;
  readonly codec = new WireCodec();
  link: LinkModel = PERFECT_LINK;
  wire: WireMode = 'json';
  observer: DeliveryObserver | undefined;
  /** counters, for reports */
  sent = 0;
  delivered = 0;
  /** lost to the link's loss rate */
  lost = 0;
  /** dropped by a cut (partition, one-way block) */
  blocked = 0;
  /** addressed to a node that is down */
  undeliverable = 0;
  /** payload bytes of every message sent (JSON body; HTTP headers not included) */
  bytes = 0;
  /** of which membership updates piggybacked on messages of every type */
  piggybackBytes = 0;
  readonly byType = new Map<string, TypeCounter>();
  /** the first 1,000 wire violations, and how many there were */
  readonly violations: WireViolation[] = [];
  violationCount = 0;

  constructor(private readonly clock: VirtualClock, private readonly random: SeededRandom) {}

  /** every message that did not arrive, for whatever reason */
  get dropped(): number {
    return this.lost + this.blocked + this.undeliverable;
  }

  attach(id: NodeId, receiver: Receiver): void {
    this.receivers.set(id, receiver);
  }

  detach(id: NodeId): void {
    this.receivers.delete(id);
  }

  /** A transport bound to one sender. */
  transportFor(from: NodeId): Transport {
    return { send: (to: PeerInfo, message: GossipMessage) => this.send(from, to.id, message) };
  }

  send(from: NodeId, to: NodeId, message: GossipMessage): void {
    const encoded = this.codec.encode(message);
    const bytes = encoded.bytes;
    let content: GossipMessage | string = encoded.copy;
    if (this.wire === 'validated') {
      content = JSON.stringify(message);
      if (content.length !== bytes) this.violation(this.clock.now(), from, to, message.type, `the codec sized it ${bytes} bytes, JSON has ${content.length}: an item was changed after it was sent`);
    }
    this.sent++;
    this.bytes += bytes;
    this.piggybackBytes += encoded.piggybackBytes;
    let counter = this.byType.get(message.type);
    if (counter === undefined) this.byType.set(message.type, (counter = { messages: 0, bytes: 0 }));
    counter.messages++;
    counter.bytes += bytes;
    if (this.isCut(from, to)) {
      this.blocked++;
      return;
    }
    // one draw for loss and one for duplication on every message, so changing a
    // rate does not shift the rest of the stream
    const lossDraw = this.random.next();
    const dupDraw = this.random.next();
    if (lossDraw < this.link.loss) {
      this.lost++;
      return;
    }
    const copies = dupDraw < this.link.duplicate ? 2 : 1;
    const now = this.clock.now();
    const extra = this.extraDelay.get(to) ?? 0;
    for (let i = 0; i < copies; i++) {
      const at = now + sampleLatency(this.link.latency, this.random) + extra;
      this.queue.push({ at, order: this.order++, to, from, content, type: message.type, bytes });
    }
  }

  /** Drops everything from any of `from` to any of `to` until heal(); one way only. */
  cut(from: Iterable<NodeId>, to: Iterable<NodeId>): void {
    this.cuts.push({ from: new Set(from), to: new Set(to) });
  }

  /** Cuts `from` off from `to` (one way). */
  block(from: NodeId, to: NodeId): void {
    this.cut([from], [to]);
  }

  /** Two groups that cannot reach each other, both ways. Nodes in neither group still reach both. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    this.cut(a, b);
    this.cut(b, a);
  }

  /** Removes every cut. */
  heal(): void {
    this.cuts = [];
  }

  isCut(from: NodeId, to: NodeId): boolean {
    for (const c of this.cuts) {
      if (c.from.has(from) && c.to.has(to)) return true;
    }
    return false;
  }

  /**
   * Every message to `id` arrives `ms` later than the link says: a node slow to
   * read its socket (an overloaded process, a long GC pause). 0 removes it.
   */
  setInboundDelay(id: NodeId, ms: number): void {
    if (ms <= 0) this.extraDelay.delete(id);
    else this.extraDelay.set(id, ms);
  }

  pending(): number {
    return this.queue.size;
  }

  nextDeliveryAt(): number | undefined {
    return this.queue.peek()?.at;
  }

  /** Delivers every message due up to `until` (virtual ms), in order; then sets the clock to `until`. */
  async deliverUntil(until: number): Promise<void> {
    for (;;) {
      const next = this.queue.peek();
      if (next === undefined || next.at > until) break;
      this.queue.pop();
      if (next.at > this.clock.now()) this.clock.advanceTo(next.at);
      const receiver = this.receivers.get(next.to);
      if (receiver === undefined) {
        this.undeliverable++;
        continue;
      }
      const message = this.decode(next);
      if (message === undefined) continue;
      this.delivered++;
      this.observer?.(next.at, next.from, next.to, next.type, next.bytes);
      const done = receiver(message, next.from);
      if (done instanceof Promise) await done;
    }
    if (this.clock.now() < until) this.clock.advanceTo(until);
  }

  private decode(d: Delivery): GossipMessage | undefined {
    if (typeof d.content !== 'string') return d.content;
    try {
      return parseGossipMessage(JSON.parse(d.content));
    } catch (err) {
      this.violation(d.at, d.from, d.to, d.type, err instanceof Error ? err.message.slice(0, 500) : String(err));
      return undefined;
    }
  }

  private violation(at: number, from: NodeId, to: NodeId, type: string, error: string): void {
    if (this.violations.length < 1000) this.violations.push({ at, from, to, type, error });
    this.violationCount++;
  }
}
