/**
 * memberlist's TransmitLimitedQueue (broadcast.go, queue.go) for member
 * updates. Each update is sent at most `retransmitMult · ceil(log10(N+1))`
 * times, least-sent first and, among equals, newest first, so fresh news
 * (a refutation, a death) goes out on the very next message. A newer update
 * about a member replaces the queued one and starts its count again. The
 * queue is bounded: past `maxSize`, the most-sent update is dropped.
 */
import type { MemberUpdate } from './messages.js';
import type { NodeId } from './types.js';
import { logScale } from './membership-config.js';

/** Sends per update for a cluster of `n` nodes. */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * logScale(n);
}

interface Entry {
  update: MemberUpdate;
  transmits: number;
  /** insertion order, for newest-first among equals */
  order: number;
}

export class BroadcastQueue {
  private readonly entries = new Map<NodeId, Entry>();
  private order = 0;
  /** updates dropped because the queue was full (for metrics) */
  dropped = 0;

  constructor(
    private readonly retransmitMult: number,
    private readonly maxSize: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Queues `update`, replacing any queued update about the same member. */
  push(update: MemberUpdate): void {
    this.entries.delete(update.id);
    this.entries.set(update.id, { update, transmits: 0, order: this.order++ });
    if (this.entries.size > this.maxSize) this.dropMostSent();
  }

  /** The queued update about `id`, if any (for tests and the buddy system). */
  peek(id: NodeId): MemberUpdate | undefined {
    return this.entries.get(id)?.update;
  }

  /** Forgets the update about `id` (a member reaped from the table). */
  remove(id: NodeId): void {
    this.entries.delete(id);
  }

  /**
   * Up to `max` updates for one outgoing message, counting one transmission
   * of each; an update that reaches the limit for a cluster of `n` nodes
   * leaves the queue.
   */
  take(max: number, n: number): MemberUpdate[] {
    if (max <= 0 || this.entries.size === 0) return [];
    const chosen = this.entries.size <= max ? [...this.entries.values()] : this.leastSent(max);
    const limit = retransmitLimit(this.retransmitMult, n);
    const out: MemberUpdate[] = [];
    for (const entry of chosen) {
      out.push(entry.update);
      entry.transmits++;
      if (entry.transmits >= limit) this.entries.delete(entry.update.id);
    }
    return out;
  }

  private leastSent(max: number): Entry[] {
    return [...this.entries.values()]
      .sort((a, b) => a.transmits - b.transmits || b.order - a.order)
      .slice(0, max);
  }

  private dropMostSent(): void {
    let worst: Entry | undefined;
    for (const entry of this.entries.values()) {
      if (worst === undefined || entry.transmits > worst.transmits) worst = entry;
    }
    if (worst !== undefined) {
      this.entries.delete(worst.update.id);
      this.dropped++;
    }
  }
}
