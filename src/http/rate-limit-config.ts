/**
 * The node's rate limits (`rateLimits.*` under the node), declared once for
 * the options module (src/options.ts). Flags set them as strings, so the
 * rules read strings as numbers. README "Rate limits" documents them.
 */
import { z } from 'zod';
import { defineOptions } from '../options.js';

export interface RateLimitOptions {
  /**
   * Public API (everything but /gossip/*: blobs, and the ops endpoints /,
   * /cluster, /metrics, /healthz...), requests per second per client address
   * (IPv6: per /64); 0 turns it off. One busy client (a CDN edge, a build
   * farm behind one NAT) fits well inside the default; more is refused with
   * 429 and Retry-After.
   */
  readonly publicPerSec: number;
  /** Requests a quiet client address may send at once before the rate applies. */
  readonly publicBurst: number;
  /**
   * Node-to-node requests (/gossip/*) per second per sending node, counted
   * once its signature verified; 0 = off. Before the signature is checked the
   * same requests are counted per address at twice this rate (and burst), so
   * an unsigned flood is refused before it costs a signature check. Normal
   * gossip (a message per peer per round, a few in flight per peer, anti-entropy
   * and body fetches bounded by the fetcher's concurrency) stays far below.
   * Body fetches count as requests, not bytes (README "Rate limits").
   */
  readonly gossipPerSec: number;
  /** Requests a quiet peer may send at once before the rate applies (gossip bursts after a write wave or a rejoin). */
  readonly gossipBurst: number;
  /**
   * Buckets each table keeps (public addresses; gossip addresses; gossip
   * peers), least recently seen forgotten first: the memory bound under a
   * flood of distinct addresses (about 130 bytes a bucket: ~13 MiB per full table of 100,000).
   */
  readonly tableSize: number;
}

const count = (rule: string, min: number) => z.coerce.number({ error: rule }).int(rule).min(min, rule).max(100_000_000, rule);

const schema = z.strictObject({
  publicPerSec: count('must be a whole number of requests per second, 0 for off', 0),
  publicBurst: count('must be a whole number of requests, at least 1', 1),
  gossipPerSec: count('must be a whole number of requests per second, 0 for off', 0),
  gossipBurst: count('must be a whole number of requests, at least 1', 1),
  tableSize: count('must be a whole number of addresses, at least 1', 1),
});

const production: RateLimitOptions = {
  publicPerSec: 1000,
  publicBurst: 2000,
  gossipPerSec: 5000,
  gossipBurst: 10_000,
  tableSize: 100_000,
};

/** localTest: as production (the limits are what the security tests exercise). */
export const RATE_LIMIT_OPTIONS = defineOptions('rateLimits', schema satisfies z.ZodType<RateLimitOptions, unknown>, { production, localTest: production });
