/**
 * Node configuration, built once: named defaults, merged with what the user
 * gave (flags, or their environment twins), validated (unknown keys refused,
 * each message naming the option and its rule), frozen.
 */
import { z } from 'zod';
import bytes from 'bytes';
import { join } from 'node:path';
import { LOG_LEVELS } from '../log.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Production defaults, each with its trade-off. */
export const NODE_DEFAULTS = {
  port: 7000,
  host: '127.0.0.1',
  bootstrapUrl: 'http://127.0.0.1:8080',
  logLevel: 'info' as (typeof LOG_LEVELS)[number],
  /** Largest body accepted. Bodies stream, so this bounds disk use per write, not memory. */
  maxBlobBytes: 5 * GiB,
  /** Body bytes this node may hold. Past it, writes get 507 and nothing is stored. */
  quotaBytes: 100 * GiB,
  /** Tombstones are kept this long before collection; a node away longer may resurrect keys (proposals/0003). */
  tombstoneGraceMs: 24 * 60 * 60 * 1000,
  /** How often tombstone collection runs. Cheap: one pass over the in-memory index. */
  tombstoneSweepMs: 10 * 60 * 1000,
  /** Uploads slower than this over the window are cut off (slow-client bound), never a fixed deadline. */
  minUploadBytesPerSecond: 1024,
  stallWindowMs: 30_000,
  /** Memory for hot small bodies: RAM serves ~3x faster than disk for small blobs (research/blob-http.md). */
  bodyCacheBytes: 64 * MiB,
  bodyCacheItemBytes: 256 * 1024,
  defaultCacheControl: 'public, max-age=60',
  /** In-flight requests get this long to finish on SIGTERM before connections are cut. */
  shutdownGraceMs: 10_000,
  /**
   * Gossip timings: `production` (memberlist LAN-like: 1 s probes) or
   * `local-test` (short timings for clusters on one machine: faster detection,
   * more traffic). See proposals/0001.
   */
  gossipProfile: 'production' as 'production' | 'local-test',
  /** Run without the Point and without peers, on purpose (ready at once). */
  alone: false,
  /** How often to ask the Point for more peers. */
  lookIntervalMs: 30_000,
} as const;

const sizeOption = (name: string) => z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = typeof value === 'number' ? value : bytes.parse(value);
  if (n === null || !Number.isSafeInteger(n) || n <= 0) {
    ctx.addIssue({ code: 'custom', message: `${name} must be a positive size such as 1048576, 512MB or 5GiB` });
    return z.NEVER;
  }
  return n;
});

const hostPort = /^[^\s:/]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;

export const nodeConfigSchema = z.strictObject({
  port: z.coerce.number({ error: 'must be a port number 0-65535' }).int('must be a port number 0-65535').min(0, 'must be a port number 0-65535').max(65535, 'must be a port number 0-65535').default(NODE_DEFAULTS.port),
  host: z.string().min(1).default(NODE_DEFAULTS.host),
  advertise: z.string().regex(hostPort, 'advertise must be HOST:PORT').optional(),
  dataDir: z.string().min(1).optional(),
  bootstrapUrl: z.url({ protocol: /^https?$/, error: 'bootstrap must be an http(s) URL' }).default(NODE_DEFAULTS.bootstrapUrl),
  clusterSecret: z.string().min(1).optional(),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default(NODE_DEFAULTS.logLevel),
  maxBlobBytes: sizeOption('max blob size').default(NODE_DEFAULTS.maxBlobBytes),
  quotaBytes: sizeOption('disk quota').default(NODE_DEFAULTS.quotaBytes),
  tombstoneGraceMs: z.number().int().positive().default(NODE_DEFAULTS.tombstoneGraceMs),
  tombstoneSweepMs: z.number().int().positive().default(NODE_DEFAULTS.tombstoneSweepMs),
  minUploadBytesPerSecond: z.coerce.number().int('min upload rate must be a whole number of bytes/s').min(0).default(NODE_DEFAULTS.minUploadBytesPerSecond),
  stallWindowMs: z.coerce.number().int('stall window must be whole milliseconds').min(100, 'stall window must be at least 100 ms').default(NODE_DEFAULTS.stallWindowMs),
  bodyCacheBytes: z.number().int().min(0).default(NODE_DEFAULTS.bodyCacheBytes),
  bodyCacheItemBytes: z.number().int().min(0).default(NODE_DEFAULTS.bodyCacheItemBytes),
  defaultCacheControl: z.string().default(NODE_DEFAULTS.defaultCacheControl),
  shutdownGraceMs: z.number().int().min(0).default(NODE_DEFAULTS.shutdownGraceMs),
  gossipProfile: z.enum(['production', 'local-test'], { error: 'must be production or local-test' }).default(NODE_DEFAULTS.gossipProfile),
  alone: z.boolean().default(NODE_DEFAULTS.alone),
  lookIntervalMs: z.coerce.number().int().min(100).default(NODE_DEFAULTS.lookIntervalMs),
});

export type NodeConfigInput = z.input<typeof nodeConfigSchema>;
export type NodeConfig = Readonly<z.output<typeof nodeConfigSchema> & { dataDir: string }>;

/** A configuration that cannot be used; `option` names the offending key. */
export class ConfigError extends Error {
  constructor(readonly option: string, message: string) {
    super(option === '' ? message : `${option}: ${message}`);
  }
}

/** Validates and freezes a node configuration; throws ConfigError naming the option. */
export function buildNodeConfig(input: NodeConfigInput): NodeConfig {
  const parsed = nodeConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(issue?.path.join('.') ?? '', issue?.message ?? 'invalid configuration');
  }
  const c = parsed.data;
  // No single body can be larger than the whole quota.
  const maxBlobBytes = Math.min(c.maxBlobBytes, c.quotaBytes);
  return Object.freeze({ ...c, maxBlobBytes, dataDir: c.dataDir ?? join('gossip-cdn-data', `node-${c.port}`) });
}
