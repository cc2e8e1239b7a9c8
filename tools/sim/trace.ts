/**
 * A running hash of everything that happens in a simulation (deliveries,
 * ticks, writes, faults, final states), so that two runs can be compared by
 * one string: the same seed must give the same digest. Two independent
 * 32-bit lanes (FNV-1a style with murmur3 finalisation) give a 64-bit digest,
 * which is plenty to tell runs apart, and cost a few nanoseconds an event.
 */
import { fmix32 } from '../../src/gossip/core/mix.js';

export class TraceHash {
  private a = 0x811c9dc5;
  private b = 0x01000193;
  /** events mixed in */
  events = 0;

  /** Mixes one number (any finite double; fractions count to the microsecond). */
  number(n: number): void {
    const x = Math.round(n * 1000);
    const lo = x % 0x1_0000_0000 | 0;
    const hi = Math.floor(x / 0x1_0000_0000) | 0;
    this.word(lo);
    this.word(hi);
  }

  /** Mixes a string, code unit by code unit. */
  string(s: string): void {
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
  }

  /** Marks the end of one event (so [1,2][3] and [1][2,3] differ). */
  end(): void {
    this.events++;
    this.word(0x9e3779b9);
  }

  digest(): string {
    return hex(fmix32(this.a ^ this.events)) + hex(fmix32(this.b + this.events));
  }

  private word(w: number): void {
    this.a = Math.imul(this.a ^ w, 0x01000193);
    this.b = Math.imul(this.b ^ Math.imul(w, 0xcc9e2d51), 0x1b873593);
    this.b = (this.b << 13) | (this.b >>> 19);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
