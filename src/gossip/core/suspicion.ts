/**
 * Lifeguard's suspicion timer (memberlist suspicion.go), as a value with a
 * deadline instead of a timer: the owner checks `expired(now)` on its ticks.
 *
 * A suspicion starts at `max` and shrinks toward `min` as independent
 * accusers confirm it: after c confirmations the timeout is
 * max(min, max − (max−min)·log(c+1)/log(k+1)), measured from the start. One
 * unhealthy accuser alone waits the full `max`, giving the member time to
 * refute; k agreeing accusers bring it down to `min`.
 */
import type { NodeId } from './types.js';
import { logScale } from './membership-config.js';

/** The timeout after `confirmations` of the `k` wanted, in ms (floored). */
export function suspicionTimeoutMs(confirmations: number, k: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs;
  const fraction = Math.log(confirmations + 1) / Math.log(k + 1);
  const raw = Math.floor(maxMs - fraction * (maxMs - minMs));
  return Math.max(minMs, raw);
}

export interface SuspicionBounds {
  readonly minMs: number;
  readonly maxMs: number;
  /** confirmations wanted to reach `minMs` */
  readonly k: number;
}

/**
 * Bounds for a cluster of `n` nodes: min = suspicionMult · ceil(log10(n+1)) ·
 * probeInterval, max = suspicionMaxTimeoutMult · min, k = suspicionMult − 2.
 */
export function suspicionBounds(
  options: { readonly suspicionMult: number; readonly suspicionMaxTimeoutMult: number; readonly probeIntervalMs: number },
  n: number,
): SuspicionBounds {
  const minMs = options.suspicionMult * logScale(n) * options.probeIntervalMs;
  return { minMs, maxMs: options.suspicionMaxTimeoutMult * minMs, k: Math.max(0, options.suspicionMult - 2) };
}

export class Suspicion {
  /** accusers counted so far, the first one included */
  private readonly accusers = new Set<NodeId>();
  private confirmed = 0;
  /** when the member is to be declared dead, local clock ms (recomputed on each confirmation) */
  private due: number;

  constructor(
    /** who raised the suspicion first; its own rumor coming back is not a confirmation */
    accuser: NodeId,
    readonly start: number,
    readonly bounds: SuspicionBounds,
  ) {
    this.accusers.add(accuser);
    this.due = this.computeDeadline();
  }

  /** independent confirmations counted (the first accuser excluded) */
  get confirmations(): number {
    return this.confirmed;
  }

  /**
   * Counts `accuser` if it is new and more confirmations still shorten the
   * timer; true if it was counted (the caller then re-broadcasts it).
   */
  confirm(accuser: NodeId): boolean {
    if (this.confirmed >= this.bounds.k || this.accusers.has(accuser)) return false;
    this.accusers.add(accuser);
    this.confirmed++;
    this.due = this.computeDeadline();
    return true;
  }

  /** when the member is to be declared dead, local clock ms */
  deadline(): number {
    return this.due;
  }

  expired(now: number): boolean {
    return now >= this.due;
  }

  private computeDeadline(): number {
    return this.start + suspicionTimeoutMs(this.confirmed, this.bounds.k, this.bounds.minMs, this.bounds.maxMs);
  }
}
