/**
 * The two clocks a node runs on (proposal 0011).
 *
 * - The wall clock (`wallClock()`): milliseconds since the epoch, for
 *   whatever crosses the wire or the disk (hybrid logical clock, signed
 *   request timestamps, version ages, last contact). In production it is
 *   `Date.now()`.
 * - The monotonic clock (`monotonicClock`): for every timer and interval
 *   (suspicion, dead, hand-off, sweeps). It counts from the process's start
 *   in epoch milliseconds but never follows a later step of the wall clock,
 *   so a clock that jumps cannot expire every suspicion at once.
 *
 * Fault tests only: `GOSSIP_CDN_TEST_CLOCK_FILE` names a JSON file
 * `{"offsetMs": N, "rate": R}` that skews the wall clock of a running node:
 * the clock reads `Date.now() + offsetMs`, plus `(rate - 1)` times the
 * monotonic time since the file was read (rate > 1 runs fast). The node
 * re-reads it whenever it changes (polled every 200 ms) and a missing file
 * means no skew, so a chaos run can bump and drift a node's clock without
 * restarting it or touching its monotonic clock. Accepted only with the
 * local-test gossip profile.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { z } from 'zod';
import type { Logger } from './log.js';
import type { Clock } from './gossip/core/types.js';

export type { Clock };

export const TEST_CLOCK_FILE_ENV = 'GOSSIP_CDN_TEST_CLOCK_FILE';

/** Ten years: a bound on the skew a test may ask for. */
const MAX_TEST_OFFSET_MS = 10 * 365 * 86_400_000;

const testClockSchema = z.strictObject({
  offsetMs: z.number().int().min(-MAX_TEST_OFFSET_MS).max(MAX_TEST_OFFSET_MS),
  rate: z.number().positive().max(100).optional(),
});

/** Monotonic, in epoch milliseconds from the process's start; immune to wall-clock steps. */
export const monotonicClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/** A wall clock skewed as a test file says; `stop()` ends the polling. */
export class SkewedWallClock implements Clock {
  private offsetMs = 0;
  private rate = 1;
  private since = performance.now();

  constructor(private readonly file: string, private readonly logger: Logger) {
    this.reload();
    watchFile(file, { interval: 200, persistent: false }, () => this.reload());
  }

  now(): number {
    return Math.floor(Date.now() + this.offsetMs + (this.rate - 1) * (performance.now() - this.since));
  }

  /** The skew in effect, ms (what the clock adds to Date.now()). */
  skewMs(): number {
    return this.now() - Date.now();
  }

  private reload(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      this.set(0, 1);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const result = testClockSchema.safeParse(parsed);
    if (!result.success) {
      this.logger.error({ file: this.file }, `${TEST_CLOCK_FILE_ENV}: expected {"offsetMs": integer, "rate": number}; keeping the previous skew`);
      return;
    }
    this.set(result.data.offsetMs, result.data.rate ?? 1);
  }

  private set(offsetMs: number, rate: number): void {
    if (offsetMs === this.offsetMs && rate === this.rate) return;
    this.offsetMs = offsetMs;
    this.rate = rate;
    this.since = performance.now();
    this.logger.warn({ offsetMs, rate }, 'test clock skew in effect');
  }

  stop(): void {
    unwatchFile(this.file);
  }
}

export const systemWallClock: Clock = { now: () => Date.now() };

/**
 * The node's wall clock: the system's, or the test file's skew when
 * GOSSIP_CDN_TEST_CLOCK_FILE is set. Throws when the variable is set outside
 * the local-test profile: a production node never runs on a faked clock.
 */
export function wallClock(profile: string, logger: Logger, env: NodeJS.ProcessEnv = process.env): Clock & { stop?: () => void } {
  const file = env[TEST_CLOCK_FILE_ENV];
  if (file === undefined || file === '') return systemWallClock;
  if (profile !== 'local-test') {
    throw new Error(`${TEST_CLOCK_FILE_ENV} is for fault tests only: it needs --gossip-profile local-test`);
  }
  return new SkewedWallClock(file, logger);
}
