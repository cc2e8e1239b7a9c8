/**
 * The network's pending deliveries: a binary min-heap on (arrival time,
 * send order), so simultaneous arrivals keep the order they were sent in and
 * a run never depends on how the heap breaks ties.
 */
import type { GossipMessage, GossipMessageType } from '../messages.js';
import type { NodeId } from '../types.js';

export interface Delivery {
  readonly at: number;
  readonly order: number;
  readonly to: NodeId;
  readonly from: NodeId;
  /** what the receiver gets: a frozen copy (wire `json`) or the JSON text to parse and check (`validated`) */
  readonly content: GossipMessage | string;
  readonly type: GossipMessageType;
  readonly bytes: number;
}

/** Anything due at a virtual time, ordered by (time, the order it was added in). */
export interface Timed {
  readonly at: number;
  readonly order: number;
}

function before(a: Timed, b: Timed): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

/** A binary min-heap on (at, order): the simulator's network and its scheduler both use it. */
export class TimedHeap<T extends Timed> {
  private readonly heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    const h = this.heap;
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as T;
      if (!before(item, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = item;
  }

  pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && before(h[r] as T, h[l] as T)) m = r;
      if (!before(h[m] as T, last)) break;
      h[i] = h[m] as T;
      i = m;
    }
    h[i] = last;
    return top;
  }
}

/** The network's pending deliveries. */
export class DeliveryQueue extends TimedHeap<Delivery> {}
