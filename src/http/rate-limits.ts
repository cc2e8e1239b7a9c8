/**
 * The node's limiters (src/rate-limit/limiter.ts), one table per plane:
 * public (per client address, in front of everything but /gossip/*), gossip
 * per address (before the signature check) and gossip per verified peer id.
 * Each refusal is a 429 with Retry-After in whole seconds and the JSON error
 * body; the counts and table sizes are Prometheus metrics without any
 * address label (bounded cardinality).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CdnError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { RateLimiter } from '../rate-limit/limiter.js';
import { retryAfterSeconds } from '../rate-limit/token-bucket.js';
import type { NodeMetrics } from './metrics.js';
import type { RateLimitOptions } from './rate-limit-config.js';
import { sendError } from './respond.js';

export interface NodeLimiters {
  readonly public: RateLimiter;
  readonly gossipAddress: RateLimiter;
  readonly gossipPeer: RateLimiter;
}

export function createLimiters(options: RateLimitOptions): NodeLimiters {
  const { publicPerSec, publicBurst, gossipPerSec, gossipBurst, tableSize } = options;
  return {
    public: new RateLimiter({ ratePerSec: publicPerSec, burst: publicBurst, maxEntries: tableSize }),
    gossipAddress: new RateLimiter({ ratePerSec: gossipPerSec * 2, burst: gossipBurst * 2, maxEntries: tableSize }),
    gossipPeer: new RateLimiter({ ratePerSec: gossipPerSec, burst: gossipBurst, maxEntries: tableSize }),
  };
}

/** cdn_rate_limited_total{plane} and cdn_rate_limiter_entries{plane}, read at scrape time. */
export function exportRateLimitMetrics(metrics: NodeMetrics, limiters: NodeLimiters): void {
  metrics.mirrorCounter('cdn_rate_limited_total', 'Requests refused with 429 by the per-address (public) or per-peer and per-address (gossip) rate limits',
    () => ({ public: limiters.public.refused, gossip: limiters.gossipAddress.refused + limiters.gossipPeer.refused }), 'plane');
  metrics.labelledGauge('cdn_rate_limiter_entries', 'Buckets held by the rate limiters (each table bounded by rateLimits.tableSize)',
    () => ({ public: limiters.public.size, gossip: limiters.gossipAddress.size + limiters.gossipPeer.size }), 'plane');
}

/** The error a refused request gets; Retry-After goes in a header beside it. */
export function rateLimited(code: ErrorCode, waitMs: number, who: string): CdnError {
  const seconds = retryAfterSeconds(waitMs);
  return new CdnError(code, `${who} is over its rate limit; retry after ${seconds} s`, { details: { retryAfter: seconds } });
}

/**
 * The public limit, checked first thing for every request but /gossip/*
 * (the fast path included): true when it answered 429. One LRU lookup and a
 * few arithmetic operations per request; the address key is worked out once
 * per connection.
 */
export function refusePublic(limiter: RateLimiter, req: IncomingMessage, res: ServerResponse, logger: Logger): boolean {
  if (!limiter.enabled || (req.url ?? '').startsWith('/gossip/')) return false;
  const wait = limiter.takeFor(req.socket);
  if (wait === 0) return false;
  const err = rateLimited('CDN_ERR_RATE_LIMITED', wait, 'this client address');
  // a refused upload's body is not worth reading: close instead of draining it
  if (!req.complete && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)) res.setHeader('Connection', 'close');
  sendError(res, err, logger, { 'Retry-After': String(err.details?.retryAfter ?? 1) });
  return true;
}
