/**
 * The Point link's options (`pointLink.*` under the node): how often a node
 * asks the Point for peers, how many, and how it waits while the Point
 * cannot be reached. Declared once for the options module (src/options.ts).
 * Where the Point is and which port we register (`PointTarget` in
 * point-link.ts) are facts of this node, not knobs.
 */
import { z } from 'zod';
import { defineOptions, integerIn } from '../options.js';

export interface PointLinkOptions {
  /**
   * While registered, ask the Point for peers this often. Each look is one
   * request per node, so the Point serves N / lookIntervalMs looks a second;
   * shorter heals a peer graph split by churn sooner (membership spreads
   * the rest by itself).
   */
  readonly lookIntervalMs: number;
  /**
   * Peers asked for in each look (the Point caps it at its maxSample). More
   * seeds a new node's membership faster, for a larger answer; the
   * simulator measures joins with the same value (tools/sim/profiles.ts).
   */
  readonly lookCount: number;
  /**
   * While the Point cannot be reached (or refuses us), the next attempt
   * comes after uniform(0, min(capMs, baseMs · 2^min(failures, 10))) + baseMs:
   * full jitter, so nodes restarted together do not return together. A
   * lower cap finds a returning Point sooner, at more requests to a Point
   * that is down.
   */
  readonly retry: { readonly baseMs: number; readonly capMs: number };
  /**
   * Each call to the Point fails after this. Heartbeats go every ttl/3
   * (10 s with the Point's default 30 s TTL), so this stays well below that
   * or one slow call costs the registration.
   */
  readonly requestTimeoutMs: number;
  /** Quick retries of a failed call (the client's own short backoff) before the link counts a failure. */
  readonly requestRetries: number;
  /**
   * With several Points (`--bootstrap A,B`): heartbeats in a row that fail
   * (no connection, a timeout, an error answer other than 401; each after
   * its quick retries) before the node moves to the next known Point and
   * registers there (point-roster.ts). A Point that is down costs the node
   * about failoverAfter × (requestTimeoutMs × (1 + requestRetries) + the
   * retry delay) before it moves: with the defaults and a Point that hangs,
   * ~3 × (4 s + ≤1 s) ≈ 15 s, within the Point's 30 s TTL; a closed port
   * fails at once, ~1-2 s. Lower moves sooner, at the cost of leaving a
   * Point over one slow moment.
   */
  readonly failoverAfter: number;
}

const schema = z.strictObject({
  lookIntervalMs: integerIn(100, 86_400_000),
  lookCount: integerIn(1, 1_000),
  retry: z.strictObject({ baseMs: integerIn(1, 60_000), capMs: integerIn(1, 3_600_000) })
    .refine((r) => r.baseMs <= r.capMs, { path: ['baseMs'], message: 'must not exceed retry.capMs' }),
  requestTimeoutMs: integerIn(50, 60_000),
  requestRetries: integerIn(0, 10),
  failoverAfter: integerIn(1, 100),
});

const production: PointLinkOptions = {
  lookIntervalMs: 30_000,
  lookCount: 16,
  retry: { baseMs: 250, capMs: 10_000 },
  requestTimeoutMs: 2_000,
  requestRetries: 1,
  failoverAfter: 3,
};

/** Point link options: `pointLink.*` under the node. localTest: as production (its timings are the Point's TTL, which tests set). */
export const POINT_LINK_OPTIONS = defineOptions('pointLink', schema satisfies z.ZodType<PointLinkOptions>, { production, localTest: production });
