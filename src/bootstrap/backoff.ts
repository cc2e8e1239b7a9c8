/**
 * Retry delays: exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): attempt n waits uniform(0, min(cap,
 * base * 2^n)). Pure; the random source is injected.
 */
export interface BackoffOptions {
  /** ms; the ceiling of the first retry's delay */
  baseMs: number;
  /** ms; no delay exceeds this */
  capMs: number;
}

export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
