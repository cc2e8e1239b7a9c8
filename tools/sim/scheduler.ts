/**
 * Timed simulator events other than message deliveries (faults, body
 * transfers, client writes): callbacks at virtual times, run in (time,
 * scheduling order), so runs never depend on tie-breaking.
 */

import { TimedHeap } from './delivery-queue.js';

interface Scheduled {
  readonly at: number;
  readonly order: number;
  readonly label: string;
  readonly run: () => void;
}

export class Scheduler {
  private readonly heap = new TimedHeap<Scheduled>();
  private order = 0;

  get size(): number {
    return this.heap.size;
  }

  nextAt(): number | undefined {
    return this.heap.peek()?.at;
  }

  /** Runs `run` at virtual time `at`; `label` names it in the trace. */
  at(at: number, label: string, run: () => void): void {
    this.heap.push({ at, order: this.order++, label, run });
  }

  /** Removes and returns the next event due at or before `until`. */
  popDue(until: number): Scheduled | undefined {
    const top = this.heap.peek();
    if (top === undefined || top.at > until) return undefined;
    return this.heap.pop();
  }
}
