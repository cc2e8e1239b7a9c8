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
  /**
   * Memory for hot bodies (verified, bounded by bytes, least recently used out).
   * From RAM a node serves ~3x faster than from disk (research/blob-http.md);
   * bench/http measured 1 MiB GETs at 0.24x nginx from disk and 1.49x from this
   * cache. Bodies above the item limit always stream from disk.
   */
  bodyCacheBytes: 256 * MiB,
  bodyCacheItemBytes: 2 * MiB,
  defaultCacheControl: 'public, max-age=60',
  /**
   * Open client connections (node:http maxConnections); beyond it new ones are
   * closed at once, so a connection flood costs a bounded number of sockets.
   * Each open connection costs one file descriptor and a few KiB.
   */
  maxConnections: 4096,
  /**
   * Time a connection gets to send complete request headers (slowloris bound);
   * idle fresh connections are closed after it too. Checked every quarter of it.
   * Longer tolerates slower clients; shorter frees sockets held by idle attackers sooner.
   */
  headersTimeoutMs: 20_000,
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

/**
 * A size: a whole number of bytes, or a number with a unit. The `bytes`
 * package reads KB/MB/GB/TB as powers of 1024 but does not know the IEC
 * spellings (KiB, MiB, GiB, TiB), and given one it silently reads only the
 * digits ("2GiB" → 2). So the text is checked first, IEC units are mapped to
 * the same powers of 1024, and anything else is refused.
 */
const SIZE_TEXT = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?\s*$/i;

export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const m = SIZE_TEXT.exec(value);
  if (m === null) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase().replace('ib', 'b');
  const n = bytes.parse(`${m[1]}${unit}`);
  return n !== null && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const sizeOption = (name: string) => z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = parseSize(value);
  if (n === undefined) {
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
  maxConnections: z.coerce.number().int('max connections must be a whole number').min(1, 'max connections must be at least 1').default(NODE_DEFAULTS.maxConnections),
  headersTimeoutMs: z.coerce.number().int('headers timeout must be whole milliseconds').min(100, 'headers timeout must be at least 100 ms').default(NODE_DEFAULTS.headersTimeoutMs),
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
