/**
 * The simulator's network: a priority queue of deliveries in virtual time,
 * with latency, loss, duplication and partitions decided by a seeded random
 * source, so one seed gives one run. Messages are delivered one at a time and
 * every microtask a delivery started finishes before the next one, so async
 * handlers stay deterministic.
 */
import type { GossipMessage } from '../messages.js';
import type { NodeId, PeerInfo, Transport } from '../types.js';
import type { SeededRandom } from './seeded-random.js';
import type { VirtualClock } from './virtual-clock.js';

export interface LinkModel {
  /** one-way latency in ms: min + uniform jitter */
  latencyMs: { min: number; jitter: number };
  /** probability a message is lost */
  loss: number;
  /** probability a delivered message is delivered twice */
  duplicate: number;
}

export const PERFECT_LINK: LinkModel = { latencyMs: { min: 1, jitter: 0 }, loss: 0, duplicate: 0 };

interface Delivery {
  at: number;
  order: number;
  to: NodeId;
  from: NodeId;
  message: GossipMessage;
  bytes: number;
}

export type Receiver = (message: GossipMessage, from: NodeId) => unknown;

/** A binary min-heap on (at, order). */
class DeliveryQueue {
  private readonly heap: Delivery[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): Delivery | undefined {
    return this.heap[0];
  }

  push(d: Delivery): void {
    const h = this.heap;
    h.push(d);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i] as Delivery, h[p] as Delivery)) break;
      [h[i], h[p]] = [h[p] as Delivery, h[i] as Delivery];
      i = p;
    }
  }

  pop(): Delivery | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as Delivery, h[m] as Delivery)) m = l;
        if (r < h.length && before(h[r] as Delivery, h[m] as Delivery)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Delivery, h[i] as Delivery];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Delivery, b: Delivery): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

export class SimNetwork {
  private readonly queue = new DeliveryQueue();
  private readonly receivers = new Map<NodeId, Receiver>();
  private order = 0;
  /** blocked[from] = set of ids `from` cannot reach */
  private readonly blocked = new Map<NodeId, Set<NodeId>>();
  link: LinkModel = PERFECT_LINK;
  /** counters, for reports */
  sent = 0;
  delivered = 0;
  dropped = 0;
  bytes = 0;

  constructor(private readonly clock: VirtualClock, private readonly random: SeededRandom) {}

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
    this.sent++;
    const bytes = JSON.stringify(message).length;
    this.bytes += bytes;
    if (this.blocked.get(from)?.has(to) === true || this.random.next() < this.link.loss) {
      this.dropped++;
      return;
    }
    const copies = this.random.next() < this.link.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const at = this.clock.now() + this.link.latencyMs.min + this.random.next() * this.link.latencyMs.jitter;
      this.queue.push({ at, order: this.order++, to, from, message, bytes });
    }
  }

  /** Cuts `from` off from `to` (one way). */
  block(from: NodeId, to: NodeId): void {
    let set = this.blocked.get(from);
    if (set === undefined) this.blocked.set(from, (set = new Set()));
    set.add(to);
  }

  /** Two groups that cannot reach each other, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) { this.block(x, y); this.block(y, x); }
  }

  heal(): void {
    this.blocked.clear();
  }

  pending(): number {
    return this.queue.size;
  }

  nextDeliveryAt(): number | undefined {
    return this.queue.peek()?.at;
  }

  /** Delivers every message due up to `until` (virtual ms), in order. */
  async deliverUntil(until: number): Promise<void> {
    for (;;) {
      const next = this.queue.peek();
      if (next === undefined || next.at > until) break;
      this.queue.pop();
      this.clock.advanceTo(Math.max(this.clock.now(), next.at));
      const receiver = this.receivers.get(next.to);
      if (receiver === undefined) {
        this.dropped++;
        continue;
      }
      this.delivered++;
      await receiver(next.message, next.from);
    }
    if (this.clock.now() < until) this.clock.advanceTo(until);
  }
}
