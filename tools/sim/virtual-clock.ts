/** Simulated time: moves only when the simulator says so. */
import type { Clock } from '../../src/gossip/core/types.js';

export class VirtualClock implements Clock {
  private time: number;

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  advanceTo(t: number): void {
    if (t < this.time) throw new RangeError(`virtual time cannot go back (${t} < ${this.time})`);
    this.time = t;
  }
}
