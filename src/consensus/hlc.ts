/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks",
 * OPODIS 2014). `wall` tracks the largest physical time seen (ms since the
 * epoch), `logical` orders events within one millisecond of `wall`. The clock
 * is strictly increasing whatever the injected physical clock does (stalls,
 * jumps back), stays close to physical time, and a receive event is ordered
 * after the send it observes.
 *
 * Pure: the physical clock is injected, so tests control it; no timers.
 */
import type { HlcTimestamp } from './types.js';

/** Largest `logical` value (fits a signed 32-bit integer). */
export const MAX_HLC_LOGICAL = 2 ** 31 - 1;

/** Default refusal threshold for remote timestamps ahead of our physical clock. */
export const DEFAULT_MAX_FORWARD_DRIFT_MS = 60_000;

/** A remote timestamp is further ahead of our physical clock than we accept. */
export class HlcDriftError extends Error {
  override readonly name = 'HlcDriftError';
}

export interface HybridLogicalClockOptions {
  /**
   * How far ahead of our physical clock a remote `wall` may be before
   * observe() refuses it (default 60 000 ms). Larger tolerates worse-synced
   * peers; smaller limits how far one peer with a bad clock can drag ours
   * forward (every timestamp we issue afterwards would carry its error).
   */
  readonly maxForwardDriftMs?: number;
}

/** wall a safe integer ≥ 0, logical an integer in 0..MAX_HLC_LOGICAL. */
export function isHlcTimestamp(x: unknown): x is HlcTimestamp {
  if (typeof x !== 'object' || x === null) return false;
  const { wall, logical } = x as { wall?: unknown; logical?: unknown };
  return (
    typeof wall === 'number' && Number.isSafeInteger(wall) && wall >= 0 &&
    typeof logical === 'number' && Number.isInteger(logical) && logical >= 0 && logical <= MAX_HLC_LOGICAL
  );
}

/** -1 when a is earlier than b, 1 when later, 0 when equal (wall first, then logical). */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): -1 | 0 | 1 {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return 0;
}

function stamp(wall: number, logical: number): HlcTimestamp {
  // logical overflow: move to the next millisecond, which is still strictly later.
  if (logical > MAX_HLC_LOGICAL) return Object.freeze({ wall: wall + 1, logical: 0 });
  return Object.freeze({ wall, logical });
}

export class HybridLogicalClock {
  readonly #physicalNow: () => number;
  readonly #maxForwardDriftMs: number;
  #last: HlcTimestamp = Object.freeze({ wall: 0, logical: 0 });

  /**
   * @param physicalNow milliseconds since the epoch (e.g. `Date.now`). A value
   *   that is not a finite number ≥ 0 is treated as 0, i.e. ignored: the clock
   *   then only advances logically. Fractions are truncated.
   */
  constructor(physicalNow: () => number, options: HybridLogicalClockOptions = {}) {
    const drift = options.maxForwardDriftMs ?? DEFAULT_MAX_FORWARD_DRIFT_MS;
    if (!Number.isSafeInteger(drift) || drift < 0) {
      throw new RangeError(`maxForwardDriftMs must be a non-negative integer, got ${String(drift)}`);
    }
    this.#physicalNow = physicalNow;
    this.#maxForwardDriftMs = drift;
  }

  #physical(): number {
    const t = this.#physicalNow();
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) return 0;
    return Math.min(Math.floor(t), Number.MAX_SAFE_INTEGER);
  }

  /** A local or send event: a timestamp strictly greater than every one this clock returned before. */
  now(): HlcTimestamp {
    const pt = this.#physical();
    const last = this.#last;
    this.#last = pt > last.wall ? stamp(pt, 0) : stamp(last.wall, last.logical + 1);
    return this.#last;
  }

  /**
   * A receive event: returns the new local time, strictly greater than both
   * the previous local time and `remote`. On a throw the clock is unchanged.
   * @throws HlcDriftError when remote.wall > physicalNow() + maxForwardDriftMs.
   * @throws TypeError when `remote` is not a valid timestamp (see isHlcTimestamp).
   */
  observe(remote: HlcTimestamp): HlcTimestamp {
    if (!isHlcTimestamp(remote)) throw new TypeError('observe() needs a valid HLC timestamp');
    const pt = this.#physical();
    if (remote.wall > pt + this.#maxForwardDriftMs) {
      throw new HlcDriftError(
        `remote timestamp ${remote.wall} is ${remote.wall - pt} ms ahead of the local clock (limit ${this.#maxForwardDriftMs} ms)`,
      );
    }
    const last = this.#last;
    const wall = Math.max(last.wall, remote.wall, pt);
    let logical: number;
    if (wall === last.wall && wall === remote.wall) logical = Math.max(last.logical, remote.logical) + 1;
    else if (wall === last.wall) logical = last.logical + 1;
    else if (wall === remote.wall) logical = remote.logical + 1;
    else logical = 0;
    this.#last = stamp(wall, logical);
    return this.#last;
  }

  /** The last timestamp issued (or {0, 0} before the first), without advancing. */
  peek(): HlcTimestamp {
    return this.#last;
  }
}
