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
import { isIPv4, isIPv6 } from 'node:net';
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

/** Expands an IPv6 address to its 8 groups (undefined if it is not one). */
function ipv6Groups(address: string): string[] | undefined {
  const [head = '', tail] = address.split('::');
  const parse = (part: string): string[] => (part === '' ? [] : part.split(':'));
  let left = parse(head);
  let right = tail === undefined ? [] : parse(tail);
  // a trailing dotted quad (::ffff:1.2.3.4) stands for two groups
  const last = (right.length > 0 ? right : left).at(-1);
  if (last !== undefined && isIPv4(last)) {
    const o = last.split('.').map(Number) as [number, number, number, number];
    const groups = [((o[0] << 8) | o[1]).toString(16), ((o[2] << 8) | o[3]).toString(16)];
    if (right.length > 0) right = [...right.slice(0, -1), ...groups];
    else left = [...left.slice(0, -1), ...groups];
  }
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(Math.max(0, fill)).fill('0'), ...right];
  return groups.length === 8 ? groups.map((g) => parseInt(g, 16).toString(16)) : undefined;
}

/**
 * The limiter key of a socket's remote address: an IPv4 address (an
 * IPv4-mapped IPv6 one unwrapped), or an IPv6 address's /64 prefix as
 * `a:b:c:d::/64`. Unknown addresses share one key.
 */
export function addressKey(raw: string | undefined): string {
  if (raw === undefined) return 'unknown';
  if (isIPv4(raw)) return raw;
  const address = raw.split('%')[0]?.toLowerCase() ?? '';
  if (!isIPv6(address)) return 'unknown';
  const groups = ipv6Groups(address);
  if (groups === undefined) return 'unknown';
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const hi = parseInt(groups[6] as string, 16);
    const lo = parseInt(groups[7] as string, 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
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
