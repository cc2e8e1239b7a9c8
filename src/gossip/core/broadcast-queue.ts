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

/**
 * The queue keeps one list per transmit count, in insertion order (newest
 * last), so taking the k least-sent updates pops them off the ends of the
 * first lists instead of sorting the whole queue for every outgoing message;
 * a taken entry is filed into the next list by binary search (it is usually
 * among the newest there, so lands near the end). A list may hold stale
 * copies of an entry that moved on, was replaced or was removed; they are
 * skipped when met and swept out once they outnumber the live ones.
 */
export class BroadcastQueue {
  private readonly entries = new Map<NodeId, Entry>();
  /** byTransmits[t]: entries sent t times, plus stale copies, ascending by order */
  private readonly byTransmits: Entry[][] = [];
  private listed = 0;
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
    const entry: Entry = { update, transmits: 0, order: this.order++ };
    this.entries.set(update.id, entry);
    this.file(entry);
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
   * Up to `max` updates for one outgoing message, least-sent first and newest
   * first among equals, counting one transmission of each; an update that
   * reaches the limit for a cluster of `n` nodes leaves the queue.
   */
  take(max: number, n: number): MemberUpdate[] {
    if (max <= 0 || this.entries.size === 0) return [];
    const chosen: Entry[] = [];
    for (let t = 0; t < this.byTransmits.length && chosen.length < max; t++) {
      const list = this.byTransmits[t] as Entry[];
      while (chosen.length < max && list.length > 0) {
        const entry = list.pop() as Entry;
        this.listed--;
        if (this.isLive(entry, t)) chosen.push(entry);
      }
    }
    const limit = retransmitLimit(this.retransmitMult, n);
    const out: MemberUpdate[] = [];
    for (const entry of chosen) {
      out.push(entry.update);
      entry.transmits++;
      if (entry.transmits >= limit) this.entries.delete(entry.update.id);
      else this.file(entry);
    }
    return out;
  }

  /** True if `entry`, found in the list for `transmits`, is still queued there. */
  private isLive(entry: Entry, transmits: number): boolean {
    return entry.transmits === transmits && this.entries.get(entry.update.id) === entry;
  }

  private file(entry: Entry): void {
    while (this.byTransmits.length <= entry.transmits) this.byTransmits.push([]);
    const list = this.byTransmits[entry.transmits] as Entry[];
    let lo = list.length;
    if (lo > 0 && (list[lo - 1] as Entry).order > entry.order) {
      lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((list[mid] as Entry).order < entry.order) lo = mid + 1;
        else hi = mid;
      }
    }
    list.splice(lo, 0, entry);
    this.listed++;
    if (this.listed > 2 * this.entries.size + 64) this.sweep();
  }

  private sweep(): void {
    this.listed = 0;
    this.byTransmits.forEach((list, t) => {
      const live = list.filter((entry) => this.isLive(entry, t));
      this.byTransmits[t] = live;
      this.listed += live.length;
    });
  }

  /** Drops the oldest of the most-sent updates. */
  private dropMostSent(): void {
    for (let t = this.byTransmits.length - 1; t >= 0; t--) {
      const worst = (this.byTransmits[t] as Entry[]).find((entry) => this.isLive(entry, t));
      if (worst !== undefined) {
        this.entries.delete(worst.update.id);
        this.dropped++;
        return;
      }
    }
  }
}
