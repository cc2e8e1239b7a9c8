/**
 * Node configuration, built once through the options module (src/options.ts):
 * a profile (production, or local-test, which selects every subsystem's
 * local-test profile at once), the user's settings (flags, or their
 * environment twins) merged on top, validated (unknown keys refused, each
 * message naming the option by its full path and its rule), frozen deeply.
 * CdnNode composes its parts from the result and holds no knob of its own.
 */
import { z } from 'zod';
import bytes from 'bytes';
import { join } from 'node:path';
import { LOG_LEVELS } from '../log.js';
import {
  buildOptions, defineOptions, integerIn, isProfileName, profileKey, PROFILE_NAMES, sectionProfiles, sectionSchemas,
  type Frozen, type Overrides,
} from '../options.js';
import { MEMBERSHIP_OPTIONS } from '../gossip/core/membership-config.js';
import { DATA_PLANE_OPTIONS } from '../gossip/core/data-plane-config.js';
import { PLACEMENT_OPTIONS } from '../gossip/core/placement-config.js';
import { BODY_FETCHER_OPTIONS, RUNTIME_OPTIONS, TRANSPORT_OPTIONS } from '../gossip/shell/runtime-config.js';
import { SERVER_OPTIONS } from '../http/server-config.js';
import { RATE_LIMIT_OPTIONS } from '../http/rate-limit-config.js';
import { POINT_LINK_OPTIONS } from './point-link-config.js';
import { TLS_FILES_SCHEMA } from '../tls.js';
import { isLoopbackHost, parsePublicKey } from '../auth/public-key.js';
import { parsePointList } from './point-roster.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

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

const SIZE_RULE = 'must be a positive size such as 1048576, 512MB or 5GiB';
const sizeOption = z.union([z.number(), z.string()], { error: SIZE_RULE }).transform((value, ctx) => {
  const n = parseSize(value);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: SIZE_RULE });
    return z.NEVER;
  }
  return n;
});

/** `--bootstrap`: one Point's URL, or several separated by commas (point-roster.ts: at most MAX_POINTS, no repeats). */
const pointList = z.union([z.string(), z.array(z.string())], { error: 'must be an http(s) URL, or several separated by commas' }).transform((value, ctx) => {
  const parsed = parsePointList(value);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.urls;
});

const hostPort = /^[^\s:/]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;
const PORT_RULE = 'must be a port number 0-65535';

/** The node's parts, each under the key its own messages use (`membership.probeTimeoutMs`). */
const SECTIONS = {
  server: SERVER_OPTIONS,
  rateLimits: RATE_LIMIT_OPTIONS,
  pointLink: POINT_LINK_OPTIONS,
  runtime: RUNTIME_OPTIONS,
  transport: TRANSPORT_OPTIONS,
  bodyFetcher: BODY_FETCHER_OPTIONS,
  membership: MEMBERSHIP_OPTIONS,
  dataPlane: DATA_PLANE_OPTIONS,
  placement: PLACEMENT_OPTIONS,
} as const;

/** Flags arrive as strings: the options a flag sets read them as numbers (z.coerce). */
const nodeSchema = z.strictObject({
  profile: z.enum(PROFILE_NAMES, { error: 'must be production or local-test' }),
  port: z.coerce.number({ error: PORT_RULE }).int(PORT_RULE).min(0, PORT_RULE).max(65535, PORT_RULE),
  host: z.string().min(1, 'must not be empty'),
  advertise: z.string().regex(hostPort, 'must be HOST:PORT').optional(),
  dataDir: z.string().min(1, 'must not be empty').optional(),
  bootstrapUrls: pointList,
  clusterSecret: z.string().min(1, 'must not be empty').optional(),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  alone: z.boolean({ error: 'must be true or false' }),
  maxBlobBytes: sizeOption,
  quotaBytes: sizeOption,
  tombstoneGraceMs: integerIn(1, Number.MAX_SAFE_INTEGER),
  tombstoneSweepMs: integerIn(1, 86_400_000),
  maxClockSkewMs: integerIn(1_000, 86_400_000),
  minUploadBytesPerSecond: z.coerce.number({ error: 'must be a whole number of bytes/s' }).int('must be a whole number of bytes/s').min(0, 'must not be negative'),
  stallWindowMs: z.coerce.number({ error: 'must be whole milliseconds' }).int('must be whole milliseconds').min(100, 'must be at least 100 ms'),
  bodyCacheBytes: integerIn(0, Number.MAX_SAFE_INTEGER),
  bodyCacheItemBytes: integerIn(0, Number.MAX_SAFE_INTEGER),
  defaultCacheControl: z.string({ error: 'must be a Cache-Control value' }),
  shutdownGraceMs: integerIn(0, 600_000),
  replicationLagSamples: integerIn(1, 100_000),
  tls: TLS_FILES_SCHEMA,
  /** the cluster's admin public key (base64url of 32 raw Ed25519 bytes): client writes need tokens it signed */
  authPublicKey: z.string().refine((text) => parsePublicKey(text) !== undefined, 'must be base64url of the 32 raw bytes of an Ed25519 public key (as `gossip-cdn auth init` prints it)').optional(),
  /** GET and HEAD of /blobs need a read token too (needs authPublicKey) */
  privateReads: z.boolean({ error: 'must be true or false' }),
  /** without authPublicKey, accept anonymous writes on a non-loopback address anyway */
  anonymousWrites: z.boolean({ error: 'must be true or false' }),
  ...sectionSchemas(SECTIONS),
}).superRefine((c, ctx) => {
  if (c.privateReads && c.authPublicKey === undefined) {
    ctx.addIssue({ code: 'custom', path: ['privateReads'], message: 'needs --auth-public-key: without it there are no tokens to read with' });
  }
  // Redis's protected mode: nobody off this machine writes anonymously unless that is asked for
  if (c.authPublicKey === undefined && !c.anonymousWrites && !isLoopbackHost(c.host)) {
    ctx.addIssue({
      code: 'custom', path: ['anonymousWrites'],
      message: `the node would listen on ${c.host}, not loopback, and take writes from anyone who reaches it: set --auth-public-key KEY (from gossip-cdn auth init) so writes need tokens, or --anonymous-writes to accept anonymous writes anyway`,
    });
  }
}).transform((c) => ({
  ...c,
  // No single body can be larger than the whole quota.
  maxBlobBytes: Math.min(c.maxBlobBytes, c.quotaBytes),
  dataDir: c.dataDir ?? join('gossip-cdn-data', `node-${c.port}`),
}));

/** Production: what `gossip-cdn node` runs with by default. Each knob with its trade-off. */
const production = {
  /** Which profile this is (`--gossip-profile`); it chose every section's profile below. */
  profile: 'production',
  /** Port to listen on; 0 lets the OS pick. */
  port: 7000,
  /** Address to listen on. Loopback by default: a node is reachable from elsewhere only when asked to be. */
  host: '127.0.0.1',
  /**
   * The Points, in order of preference (`--bootstrap A,B`): the node registers
   * with the first that answers, learns the others from its `/points`, and
   * moves to the next when its Point stops answering (point-roster.ts).
   * Unset `advertise`: peers reach us on the bound address. Unset `dataDir`: ./gossip-cdn-data/node-PORT.
   */
  bootstrapUrls: ['http://127.0.0.1:8080'],
  /** pino level; `debug` shows every failed gossip attempt, which is noisy under churn. */
  logLevel: 'info',
  /** Run without the Point and without peers, on purpose (ready at once). */
  alone: false,
  /** Largest body accepted. Bodies stream, so this bounds disk use per write, not memory. */
  maxBlobBytes: 5 * GiB,
  /** Body bytes this node may hold. Past it, writes get 507 and nothing is stored. */
  quotaBytes: 100 * GiB,
  /** Tombstones are kept this long before collection; a node away longer may resurrect keys (proposals/0003). */
  tombstoneGraceMs: 24 * 60 * 60 * 1000,
  /** How often tombstone collection runs. Cheap: one pass over the in-memory index. */
  tombstoneSweepMs: 10 * 60 * 1000,
  /**
   * How far two nodes' wall clocks may disagree (proposal 0011). Signed
   * requests within it are accepted (nonces are kept for twice it), versions
   * stamped up to it ahead are adopted; a peer further off is refused, logged
   * and flagged. 5 minutes, Kerberos's default. Wider tolerates worse clocks
   * but lets a node that runs ahead win ties between concurrent writes for
   * longer and holds more nonces.
   */
  maxClockSkewMs: 300_000,
  /**
   * Uploads slower than minUploadBytesPerSecond over the last stallWindowMs
   * are cut off with 408 (slow-client bound), never a fixed deadline: a
   * client must move minUploadBytesPerSecond × stallWindowMs / 1000 bytes per
   * window. A longer window forgives longer pauses; a shorter one frees a
   * trickling upload's socket and temp file sooner.
   */
  minUploadBytesPerSecond: 1024,
  stallWindowMs: 30_000,
  /**
   * Memory for hot bodies (verified, bounded by bytes, least recently used out).
   * From RAM a node serves ~3x faster than from disk (research/blob-http.md);
   * bench/http measured 1 MiB GETs at 0.24x nginx from disk and 1.49x from this
   * cache. Bodies above the item limit always stream from disk.
   */
  bodyCacheBytes: 256 * MiB,
  /** Largest body the cache holds: small hot bodies gain most; big ones would evict many for one. */
  bodyCacheItemBytes: 2 * MiB,
  /** Cache-Control of bodies written without one. Longer lets clients and proxies serve more, and see an overwrite later. */
  defaultCacheControl: 'public, max-age=60',
  /** In-flight requests get this long to finish on SIGTERM before connections are cut. */
  shutdownGraceMs: 10_000,
  /**
   * Replication lags (ms) of the last versions adopted from peers, summarised
   * (median, max) by /cluster and the status page. More smooths the figures,
   * at 8 bytes each and a sort of them per /cluster request.
   */
  replicationLagSamples: 256,
  /**
   * TLS files (src/tls.ts): with `cert` and `key` every listener is HTTPS
   * only and peers are dialled over HTTPS; `ca` verifies peers and an
   * https:// Point (the system CAs otherwise). None: plain HTTP.
   */
  tls: {},
  /** Unset: no client tokens; anonymous writes only while listening on loopback (or with anonymousWrites). */
  privateReads: false,
  anonymousWrites: false,
  ...sectionProfiles(SECTIONS, 'production'),
} as const satisfies Frozen<z.input<typeof nodeSchema>>;

/**
 * The node's options, at the root (messages name `quotaBytes`,
 * `membership.probeTimeoutMs`). Profiles: `production`, and `localTest`
 * (`--gossip-profile local-test`): the same node, with every part's
 * local-test profile (short gossip timings for clusters on one machine).
 */
export const NODE_OPTIONS = defineOptions('', nodeSchema, {
  production,
  localTest: { ...production, profile: 'local-test', ...sectionProfiles(SECTIONS, 'localTest') },
});
export const NODE_PROFILES = NODE_OPTIONS.profiles;

export type NodeConfigInput = Overrides<z.input<typeof nodeSchema>>;
export type NodeConfig = Frozen<z.output<typeof nodeSchema>>;

/**
 * The node's configuration: the profile named by `overrides.profile`
 * (production by default) with `overrides` on top, validated and frozen.
 * @throws ConfigError naming the option (`quotaBytes`, `server.maxConnections`) and its rule.
 */
export function buildNodeConfig(overrides: NodeConfigInput = {}): NodeConfig {
  const name = overrides.profile;
  // an unknown name falls to production, whose schema then refuses it, naming `profile`
  return buildOptions(NODE_OPTIONS, overrides, isProfileName(name) ? profileKey(name) : 'production');
}

/** The production configuration, built: the defaults `--help` shows. */
export const NODE_DEFAULTS: NodeConfig = buildNodeConfig();
