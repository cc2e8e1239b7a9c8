/**
 * Token-bucket arithmetic, pure: no clock, no I/O. A bucket holds up to
 * `burst` tokens and refills at `ratePerSec`; a request takes `cost` tokens
 * when there are enough, and otherwise learns how long until there will be.
 * The bucket is mutated in place (the limiter's table holds one per caller,
 * and this runs on every request).
 */

export interface BucketSpec {
  /** tokens added per second; 0 turns the limit off */
  readonly ratePerSec: number;
  /** most tokens a bucket holds: the largest burst a quiet caller may send at once */
  readonly burst: number;
}

export interface Bucket {
  tokens: number;
  /** ms (of whatever clock the caller uses) when `tokens` was last brought up to date */
  at: number;
}

/** A full bucket: a caller seen for the first time may send a whole burst. */
export function fullBucket(spec: BucketSpec, now: number): Bucket {
  return { tokens: spec.burst, at: now };
}

/**
 * Takes `cost` tokens from `bucket` at time `now` (ms). Returns 0 when they
 * were taken, or else the ms until the bucket will hold `cost` tokens (nothing
 * is taken then: a refused request costs the caller nothing more). A clock
 * that goes backwards adds no tokens. A cost above the burst can never be
 * paid: it answers the time to fill the bucket, and is refused every time.
 */
export function takeTokens(bucket: Bucket, spec: BucketSpec, now: number, cost = 1): number {
  if (spec.ratePerSec <= 0) return 0;
  const elapsed = now - bucket.at;
  if (elapsed > 0) {
    bucket.tokens = Math.min(spec.burst, bucket.tokens + (elapsed * spec.ratePerSec) / 1000);
    bucket.at = now;
  }
  if (bucket.tokens >= cost) {
    bucket.tokens -= cost;
    return 0;
  }
  const missing = Math.min(cost, spec.burst) - bucket.tokens;
  return Math.max(1, Math.ceil((missing * 1000) / spec.ratePerSec));
}

/** The Retry-After header's value for a wait of `ms`: whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
