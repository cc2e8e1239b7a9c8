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

function before(a: Delivery, b: Delivery): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

export class DeliveryQueue {
  private readonly heap: Delivery[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): Delivery | undefined {
    return this.heap[0];
  }

  push(d: Delivery): void {
    const h = this.heap;
    let i = h.length;
    h.push(d);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Delivery;
      if (!before(d, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = d;
  }

  pop(): Delivery | undefined {
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
      if (r < n && before(h[r] as Delivery, h[l] as Delivery)) m = r;
      if (!before(h[m] as Delivery, last)) break;
      h[i] = h[m] as Delivery;
      i = m;
    }
    h[i] = last;
    return top;
  }
}
