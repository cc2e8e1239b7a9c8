/**
 * The Point's configuration, built once: named defaults, merge, validate
 * (unknown keys rejected, each message names the option and its rule),
 * freeze. `POINT_DEFAULTS` is the production profile; `POINT_LOCAL_TEST`
 * shortens every period so tests see expiry and sweeps in well under a second.
 */
import { z } from 'zod';
import { LOG_LEVELS } from '../log.js';

const DAY_SEC = 24 * 60 * 60;

export const PointConfigSchema = z.strictObject({
  /** TCP port to listen on; 0 lets the OS pick (tests). */
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  /** Registry backend. Unset: the in-process registry (embedded mode). */
  redisUrl: z.url().optional(),
  /** Banlist backend. Unset: embedded Postgres (PGlite) persisted in `dataDir`. */
  databaseUrl: z.url().optional(),
  /** Where the embedded banlist keeps its files. Unused with `databaseUrl`. */
  dataDir: z.string().min(1),
  /** When set, `reg` needs joinToken = base64url(HMAC-SHA256(secret, publicKey)). */
  clusterSecret: z.string().min(8).optional(),
  logLevel: z.enum(LOG_LEVELS),
  /**
   * Seconds a registration lives without a heartbeat. Nodes heartbeat every
   * ttl/3, so one lost heartbeat never drops a live node; a dead node leaves
   * `look` within ttl + sweepIntervalMs. Point load = nodes / (ttl/3) heartbeats/s.
   */
  heartbeatTtlSec: z.number().int().min(1).max(DAY_SEC),
  /** Distinct reporter addresses needed to ban an address. 1 lets any single node ban anyone. */
  banQuorum: z.number().int().min(1).max(100),
  /** Seconds a ban lasts; a new quorum of reports inside this window renews it. */
  banDurationSec: z.number().int().min(1).max(365 * DAY_SEC),
  /** Distinct reporter addresses needed to drop a node reported unreachable. */
  removeQuorum: z.number().int().min(1).max(100),
  /** Seconds an unreachable report counts towards the remove quorum. */
  removeWindowSec: z.number().int().min(1).max(DAY_SEC),
  /** Other Points serving this cluster, answered by `/points`. */
  peerPoints: z.array(z.url()).max(64),
  /** Upper bound of `numnodes` in `look` (and `count` in `points`). */
  maxSample: z.number().int().min(1).max(1000),
  /** How often expired registrations are trimmed from the id set (bounded batch each time). */
  sweepIntervalMs: z.number().int().min(10).max(60_000),
  /** Expired ids removed per sweep; a sweep that fills its batch runs again at once. */
  sweepBatch: z.number().int().min(1).max(10_000),
  /** How often the in-memory snapshot of banned addresses (used by `look`) is refreshed. */
  banRefreshMs: z.number().int().min(10).max(600_000),
  /** Prefix of every Redis key, so several clusters (or tests) can share one Redis. */
  redisPrefix: z.string().max(64).regex(/^[A-Za-z0-9:_-]*$/),
  /** Every Redis command fails after this; the request answers 503 instead of hanging. */
  redisCommandTimeoutMs: z.number().int().min(50).max(60_000),
  /** Connecting to Postgres and every query fail after this (503, never a hang). */
  pgTimeoutMs: z.number().int().min(50).max(60_000),
  /** Postgres pool size (each Point). */
  pgPoolSize: z.number().int().min(1).max(100),
  /** A whole HTTP request (headers and body) must arrive within this. */
  requestTimeoutMs: z.number().int().min(100).max(600_000),
  /** Bound on waiting for in-flight requests at shutdown. */
  shutdownGraceMs: z.number().int().min(0).max(600_000),
});

export type PointConfig = Readonly<z.infer<typeof PointConfigSchema>>;
export type PointConfigInput = Partial<z.input<typeof PointConfigSchema>>;

/** Production profile. */
export const POINT_DEFAULTS: PointConfig = Object.freeze({
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
});

/**
 * Fast local-test profile: quick sweeps and ban refreshes, port 0, loopback
 * only. The TTL stays long enough that a loaded CI machine never lapses a
 * node mid-test; tests of expiry set their own short TTL.
 */
export const POINT_LOCAL_TEST: PointConfig = Object.freeze({
  ...POINT_DEFAULTS,
  port: 0,
  host: '127.0.0.1',
  logLevel: 'silent',
  heartbeatTtlSec: 20,
  sweepIntervalMs: 50,
  banRefreshMs: 100,
  redisCommandTimeoutMs: 500,
  pgTimeoutMs: 1000,
  shutdownGraceMs: 1000,
});

/** Merges overrides onto a profile, validates, freezes. Throws a one-line Error naming the option. */
export function buildPointConfig(overrides: PointConfigInput = {}, profile: PointConfig = POINT_DEFAULTS): PointConfig {
  const merged: Record<string, unknown> = { ...profile };
  for (const [name, value] of Object.entries(overrides)) {
    if (value !== undefined) merged[name] = value;
  }
  const parsed = PointConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'config');
    throw new Error(`invalid Point option ${option}: ${issue?.message ?? 'invalid'}`);
  }
  return Object.freeze({ ...parsed.data, peerPoints: Object.freeze([...parsed.data.peerPoints]) as string[] });
}
