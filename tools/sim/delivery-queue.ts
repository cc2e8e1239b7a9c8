/**
 * The network's pending deliveries: a binary min-heap on (arrival time,
 * send order), so simultaneous arrivals keep the order they were sent in and
 * a run never depends on how the heap breaks ties.
 */
import type { GossipMessage, GossipMessageType } from '../../src/gossip/core/messages.js';
import type { NodeId } from '../../src/gossip/core/types.js';
import { BinaryHeap } from './binary-heap.js';

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

/** A min-heap on (at, order): the simulator's network and its scheduler both use it. */
export class TimedHeap<T extends Timed> extends BinaryHeap<T> {
  constructor() {
    super(before);
  }
}

/** The network's pending deliveries. */
export class DeliveryQueue extends TimedHeap<Delivery> {}
