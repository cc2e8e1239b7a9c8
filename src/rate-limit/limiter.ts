/**
 * Per-caller rate limiting: one token bucket (token-bucket.ts) per caller
 * key in a bounded LRU table (lru-cache, no timer per key), so a flood from
 * any number of distinct addresses holds at most `maxEntries` buckets; the
 * least recently seen caller is forgotten first, and comes back with a full
 * bucket. Forgetting is the price of the bound: an attacker who cycles
 * through more addresses than the table holds gets a fresh burst per address,
 * which is what many addresses buy anyway.
 *
 * Caller keys are socket addresses (never X-Forwarded-For, which any client
 * can write): IPv4 as is, IPv6 grouped by its /64 (one host usually holds a
 * whole /64), computed once per connection. Used by the node (public API and
 * gossip) and the Point.
 */
import type { Socket } from 'node:net';
import { ipGroup } from '../address-group.js';
import { LRUCache } from 'lru-cache';
import { fullBucket, takeTokens, type Bucket, type BucketSpec } from './token-bucket.js';

/** How often the shared coarse clock advances (ms): the buckets' time resolution. */
const COARSE_CLOCK_MS = 5;
let coarseNow = performance.now();
let ticker: NodeJS.Timeout | undefined;

/**
 * A clock read per request costs more than the rest of the limiter together
 * (bench/http/rate-limit.mjs): limiters without an injected clock share one
 * that a single unref'd timer advances every COARSE_CLOCK_MS.
 */
function coarseClock(): () => number {
  if (ticker === undefined) {
    coarseNow = performance.now();
    ticker = setInterval(() => { coarseNow = performance.now(); }, COARSE_CLOCK_MS);
    ticker.unref();
  }
  return () => coarseNow;
}

/** A connection's requests between two lookups of its address in the table. */
const REFRESH_EVERY = 64;

interface SocketSlot {
  bucket: Bucket;
  uses: number;
}

export interface RateLimiterOptions extends BucketSpec {
  /** buckets kept at most; least recently seen out first */
  readonly maxEntries: number;
  /** ms; injectable for tests */
  readonly clock?: () => number;
}

export class RateLimiter {
  readonly spec: BucketSpec;
  readonly enabled: boolean;
  readonly maxEntries: number;
  /** requests refused since start */
  refused = 0;
  private readonly table: LRUCache<string, Bucket>;
  private readonly clock: () => number;
  /** where each connection keeps its bucket for this limiter */
  private readonly slot = Symbol('gossip-cdn.rateLimitBucket');

  constructor(options: RateLimiterOptions) {
    this.spec = { ratePerSec: options.ratePerSec, burst: options.burst };
    this.enabled = options.ratePerSec > 0;
    this.maxEntries = options.maxEntries;
    this.clock = options.clock ?? (this.enabled ? coarseClock() : () => 0);
    this.table = new LRUCache<string, Bucket>({ max: Math.max(1, options.maxEntries) });
  }

  /** Takes `cost` tokens for `key`: 0 when allowed, else the ms to wait before asking again. */
  take(key: string, cost = 1): number {
    if (!this.enabled) return 0;
    const now = this.clock();
    let bucket = this.table.get(key);
    if (bucket === undefined) {
      bucket = fullBucket(this.spec, now);
      this.table.set(key, bucket);
    }
    const wait = takeTokens(bucket, this.spec, now, cost);
    if (wait > 0) this.refused++;
    return wait;
  }

  /**
   * `take` for a request on `socket`, keyed by its address (socketKey). The
   * connection keeps a reference to its address's bucket, so most requests
   * cost no table lookup; every REFRESH_EVERY-th request looks the address up
   * again, which keeps a busy address recent in the table and picks up the
   * bucket another connection from the same address may have put there.
   * Buckets held only by open connections are bounded by the connection cap.
   */
  takeFor(socket: Socket, cost = 1): number {
    if (!this.enabled) return 0;
    const slot = (socket as unknown as Record<symbol, SocketSlot | undefined>)[this.slot];
    if (slot !== undefined && ++slot.uses % REFRESH_EVERY !== 0) {
      const wait = takeTokens(slot.bucket, this.spec, this.clock(), cost);
      if (wait > 0) this.refused++;
      return wait;
    }
    const key = socketKey(socket);
    let bucket = this.table.get(key);
    if (bucket === undefined) {
      bucket = slot?.bucket ?? fullBucket(this.spec, this.clock());
      this.table.set(key, bucket);
    }
    if (slot === undefined) (socket as unknown as Record<symbol, SocketSlot>)[this.slot] = { bucket, uses: 0 };
    else slot.bucket = bucket;
    const wait = takeTokens(bucket, this.spec, this.clock(), cost);
    if (wait > 0) this.refused++;
    return wait;
  }

  /** Buckets held now (at most maxEntries). */
  get size(): number {
    return this.table.size;
  }
}

/**
 * The limiter key of a socket's remote address: an IPv4 address (an
 * IPv4-mapped IPv6 one unwrapped), or an IPv6 address's /64 prefix as
 * `a:b:c:d::/64`. Unknown addresses share one key.
 */
export function addressKey(raw: string | undefined): string {
  return (raw === undefined ? undefined : ipGroup(raw)) ?? 'unknown';
}

const KEY = Symbol('gossip-cdn.rateLimitKey');
type KeyedSocket = Socket & { [KEY]?: string };

/** The socket's limiter key, worked out once per connection. */
export function socketKey(socket: Socket): string {
  const keyed = socket as KeyedSocket;
  let key = keyed[KEY];
  if (key === undefined) {
    key = addressKey(socket.remoteAddress);
    keyed[KEY] = key;
  }
  return key;
}
