/**
 * The Point's configuration, built once through the options module
 * (src/options.ts): named defaults, merge, validate (unknown keys rejected,
 * each message naming the option and its rule, e.g. `banQuorum: must be an
 * integer in [1, 100]`), freeze deeply. `POINT_DEFAULTS` is the production
 * profile; `POINT_LOCAL_TEST` shortens every period so tests see expiry and
 * sweeps in well under a second.
 */
import { z } from 'zod';
import { LOG_LEVELS } from '../log.js';
import { TLS_FILES_SCHEMA } from '../tls.js';
import { buildOptions, defineOptions, integerIn, type Frozen, type Overrides, type ProfileKey } from '../options.js';

const DAY_SEC = 24 * 60 * 60;

export const PointConfigSchema = z.strictObject({
  /** TCP port to listen on; 0 lets the OS pick (tests). */
  port: integerIn(0, 65535),
  host: z.string({ error: 'must be a host name or address' }).min(1, 'must not be empty'),
  /** Registry backend. Unset: the in-process registry (embedded mode). */
  redisUrl: z.url({ error: 'must be a URL' }).optional(),
  /** Banlist backend. Unset: embedded Postgres (PGlite) persisted in `dataDir`. */
  databaseUrl: z.url({ error: 'must be a URL' }).optional(),
  /** Where the embedded banlist keeps its files. Unused with `databaseUrl`. */
  dataDir: z.string({ error: 'must be a directory' }).min(1, 'must not be empty'),
  /** When set, `reg` needs joinToken = base64url(HMAC-SHA256(secret, publicKey)). */
  clusterSecret: z.string({ error: 'must be a string' }).min(8, 'must be at least 8 characters').optional(),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  /**
   * Seconds a registration lives without a heartbeat. Nodes heartbeat every
   * ttl/3, so one lost heartbeat never drops a live node; a dead node leaves
   * `look` within ttl + sweepIntervalMs. Point load = nodes / (ttl/3) heartbeats/s.
   */
  heartbeatTtlSec: integerIn(1, DAY_SEC),
  /** Distinct reporter addresses needed to ban an address. 1 lets any single node ban anyone. */
  banQuorum: integerIn(1, 100),
  /** Seconds a ban lasts; a new quorum of reports inside this window renews it. */
  banDurationSec: integerIn(1, 365 * DAY_SEC),
  /** Distinct reporter addresses needed to drop a node reported unreachable. */
  removeQuorum: integerIn(1, 100),
  /** Seconds an unreachable report counts towards the remove quorum. */
  removeWindowSec: integerIn(1, DAY_SEC),
  /** Other Points serving this cluster, answered by `/points`. */
  peerPoints: z.array(z.url({ error: 'must be a URL' }), { error: 'must be a list of URLs' }).max(64, 'must list at most 64 Points'),
  /** Upper bound of `numnodes` in `look` (and `count` in `points`). */
  maxSample: integerIn(1, 1000),
  /** How often expired registrations are trimmed from the id set (bounded batch each time). */
  sweepIntervalMs: integerIn(10, 60_000),
  /** Expired ids removed per sweep; a sweep that fills its batch runs again at once. */
  sweepBatch: integerIn(1, 10_000),
  /** How often the in-memory snapshot of banned addresses (used by `look`) is refreshed. */
  banRefreshMs: integerIn(10, 600_000),
  /** Prefix of every Redis key, so several clusters (or tests) can share one Redis. */
  redisPrefix: z.string({ error: 'must be a string' }).max(64, 'must be at most 64 characters').regex(/^[A-Za-z0-9:_-]*$/, 'may hold only letters, digits and : _ -'),
  /** Every Redis command fails after this; the request answers 503 instead of hanging. */
  redisCommandTimeoutMs: integerIn(50, 60_000),
  /** Connecting to Postgres and every query fail after this (503, never a hang). */
  pgTimeoutMs: integerIn(50, 60_000),
  /** Postgres pool size (each Point). */
  pgPoolSize: integerIn(1, 100),
  /** A whole HTTP request (headers and body) must arrive within this. */
  requestTimeoutMs: integerIn(100, 600_000),
  /** Bound on waiting for in-flight requests at shutdown. */
  shutdownGraceMs: integerIn(0, 600_000),
  /** TLS files (src/tls.ts): with `cert` and `key` the Point speaks HTTPS only. `ca` is accepted for symmetry with the node (the Point dials nobody). */
  tls: TLS_FILES_SCHEMA,
  /**
   * Per-address limit on the calls a flood aims at (`/reg`, `/reg/challenge`,
   * `/ban`, `/remove`): requests per second refilled, 0 = off. A node makes
   * two of them to register (challenge, reg) and a few reports an hour, so
   * the default leaves a large margin even for many nodes behind one NAT.
   */
  rateLimit: integerIn(0, 1_000_000),
  /** Requests a quiet address may send at once before the rate applies. */
  rateBurst: integerIn(1, 10_000_000),
  /** Addresses whose buckets are kept (least recently seen forgotten first): bounds the limiter's memory. */
  rateLimitTable: integerIn(1, 10_000_000),
  /** Seconds a registration challenge stays usable. */
  challengeTtlSec: integerIn(1, 3600),
  /** Unused challenges one address may hold at once (429 past it until one is used or lapses). */
  maxChallenges: integerIn(1, 10_000),
  /**
   * Challenges issued by all the Points sharing the registry within the last
   * one to two challenge TTLs, at most: the bound on what a flood from many
   * addresses can store (~150 bytes each in Redis). Past it `/reg/challenge`
   * answers 429 until they lapse; registered nodes are not affected
   * (heartbeats need no challenge).
   */
  maxChallengesTotal: integerIn(1, 100_000_000),
});

export type PointConfig = Frozen<z.infer<typeof PointConfigSchema>>;
export type PointConfigInput = Overrides<z.input<typeof PointConfigSchema>>;

/** Production profile. */
const production: PointConfig = {
  port: 8080,
  host: '0.0.0.0',
  dataDir: '.data/point',
  logLevel: 'info',
  heartbeatTtlSec: 30,
  banQuorum: 2,
  banDurationSec: 7 * DAY_SEC,
  removeQuorum: 2,
  removeWindowSec: 60,
  peerPoints: [],
  maxSample: 64,
  sweepIntervalMs: 1000,
  sweepBatch: 500,
  banRefreshMs: 5000,
  redisPrefix: 'gcdn:',
  redisCommandTimeoutMs: 1000,
  pgTimeoutMs: 2000,
  pgPoolSize: 10,
  requestTimeoutMs: 10_000,
  shutdownGraceMs: 5000,
  tls: {},
  rateLimit: 20,
  rateBurst: 100,
  rateLimitTable: 100_000,
  challengeTtlSec: 60,
  maxChallenges: 16,
  maxChallengesTotal: 100_000,
};

/**
 * Fast local-test profile: quick sweeps and ban refreshes, port 0, loopback
 * only. The TTL stays long enough that a loaded CI machine never lapses a
 * node mid-test; tests of expiry set their own short TTL.
 */
const localTest: PointConfig = {
  ...production,
  port: 0,
  host: '127.0.0.1',
  logLevel: 'silent',
  heartbeatTtlSec: 20,
  sweepIntervalMs: 50,
  banRefreshMs: 100,
  redisCommandTimeoutMs: 500,
  pgTimeoutMs: 1000,
  shutdownGraceMs: 1000,
};

/** The Point's options, at the root of its process (messages name `banQuorum`, `peerPoints.1`). */
export const POINT_OPTIONS = defineOptions('', PointConfigSchema, { production, localTest });
export const POINT_DEFAULTS: PointConfig = POINT_OPTIONS.profiles.production;
export const POINT_LOCAL_TEST: PointConfig = POINT_OPTIONS.profiles.localTest;

/**
 * Merges overrides onto a profile (production by default), validates, freezes.
 * @throws ConfigError naming the option and its rule.
 */
export function buildPointConfig(overrides: PointConfigInput = {}, profile: ProfileKey | PointConfig = 'production'): PointConfig {
  return buildOptions(POINT_OPTIONS, overrides, profile);
}
