/**
 * `gossip-cdn node`: runs one node until SIGINT/SIGTERM, then leaves
 * gracefully. Every flag has an environment twin.
 */
import { Option, type Command } from 'commander';
import { createLogger } from '../log.js';
import { buildNodeConfig, NODE_DEFAULTS, parseSize, type NodeConfigInput } from './config.js';
import { CdnNode } from './node.js';
import { MAX_POINTS } from './point-roster.js';
import { fail, flagError, onShutdownSignal } from '../cli-support.js';
import { TLS_FLAGS } from '../tls.js';
import { MIN_PEERS } from '../gossip/core/membership-config.js';
import { LIMITS } from '../gossip/core/messages.js';

interface NodeFlags {
  port?: string;
  host?: string;
  advertise?: string;
  dataDir?: string;
  bootstrap?: string;
  clusterSecret?: string;
  logLevel?: string;
  maxBlobSize?: string;
  quota?: string;
  minUploadRate?: string;
  stallWindow?: string;
  maxConnections?: string;
  headersTimeout?: string;
  gossipProfile?: string;
  alone?: boolean;
  replicas?: string;
  tombstoneGrace?: string;
  tombstoneSweep?: string;
  maxClockSkew?: string;
  zone?: string;
  cacheSize?: string;
  writeCopies?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  authPublicKey?: string;
  privateReads?: boolean | string;
  anonymousWrites?: boolean | string;
  rateLimit?: string;
  rateBurst?: string;
  gossipRateLimit?: string;
  gossipRateBurst?: string;
  rateLimitTable?: string;
  maxPeers?: string;
}

const FLAG_OF: Record<string, string> = {
  port: '--port (PORT)', host: '--host (HOST)', advertise: '--advertise (ADVERTISE)', dataDir: '--data-dir (DATA_DIR)',
  bootstrapUrls: '--bootstrap (BOOTSTRAP_URL)', clusterSecret: '--cluster-secret (CLUSTER_SECRET)', logLevel: '--log-level (LOG_LEVEL)',
  maxBlobBytes: '--max-blob-size (MAX_BLOB_SIZE)', quotaBytes: '--quota (DISK_QUOTA)',
  minUploadBytesPerSecond: '--min-upload-rate (MIN_UPLOAD_RATE)', stallWindowMs: '--stall-window (STALL_WINDOW_MS)',
  profile: '--gossip-profile (GOSSIP_PROFILE)',
  'placement.replicas': '--replicas (REPLICAS)', 'placement.zone': '--zone (ZONE)', 'placement.cacheBytes': '--cache-size (CACHE_SIZE)',
  'placement.writeCopies': '--write-copies (WRITE_COPIES)',
  tombstoneGraceMs: '--tombstone-grace (TOMBSTONE_GRACE_MS)', tombstoneSweepMs: '--tombstone-sweep (TOMBSTONE_SWEEP_MS)',
  maxClockSkewMs: '--max-clock-skew (MAX_CLOCK_SKEW_MS)',
  authPublicKey: '--auth-public-key (AUTH_PUBLIC_KEY)', privateReads: '--private-reads (PRIVATE_READS)',
  anonymousWrites: '--anonymous-writes (ANONYMOUS_WRITES)',
  'server.maxConnections': '--max-connections (MAX_CONNECTIONS)', 'server.headersTimeoutMs': '--headers-timeout (HEADERS_TIMEOUT_MS)',
  ...TLS_FLAGS,
  'rateLimits.publicPerSec': '--rate-limit (RATE_LIMIT)', 'rateLimits.publicBurst': '--rate-burst (RATE_BURST)',
  'rateLimits.gossipPerSec': '--gossip-rate-limit (GOSSIP_RATE_LIMIT)', 'rateLimits.gossipBurst': '--gossip-rate-burst (GOSSIP_RATE_BURST)',
  'rateLimits.tableSize': '--rate-limit-table (RATE_LIMIT_TABLE)',
  'membership.maxPeers': '--max-peers (MAX_PEERS)',
};

/**
 * A boolean flag or its environment twin: the flag alone is true; from the
 * environment 1/true/yes are true, 0/false/no/'' false; anything else is left
 * for the schema to refuse by name.
 */
function switchValue(value: boolean | string): boolean {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no', ''].includes(v)) return false;
  return v as unknown as boolean;
}

/** A flag's text as a number for the schema to judge: anything but plain digits fails its integer rule. */
function wholeNumber(text: string): number {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
}

/** An optional flag as a number; unset (or empty in the environment) keeps the profile's value. */
function optionalNumber(text: string | undefined): number | undefined {
  return text === undefined || text.trim() === '' ? undefined : wholeNumber(text);
}

export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run a node')
    .addOption(new Option('--port <port>', `port to listen on (default ${NODE_DEFAULTS.port})`).env('PORT'))
    .addOption(new Option('--host <host>', `address to listen on (default ${NODE_DEFAULTS.host})`).env('HOST'))
    .addOption(new Option('--advertise <host:port>', 'address peers should use to reach this node').env('ADVERTISE'))
    .addOption(new Option('--data-dir <dir>', 'where blobs, metadata and the node key live (default ./gossip-cdn-data/node-PORT)').env('DATA_DIR'))
    .addOption(new Option('--bootstrap <urls>', `the Point's URL, or several Points' separated by commas (at most ${MAX_POINTS}): the node registers with the first that answers and moves to another when it stops answering (default ${NODE_DEFAULTS.bootstrapUrls.join(',')})`).env('BOOTSTRAP_URL'))
    .addOption(new Option('--cluster-secret <secret>', 'join token the Point requires').env('CLUSTER_SECRET'))
    .addOption(new Option('--max-blob-size <size>', 'largest body accepted, e.g. 512MB (default 5GiB)').env('MAX_BLOB_SIZE'))
    .addOption(new Option('--quota <size>', 'disk quota for bodies, e.g. 50GB (default 100GiB)').env('DISK_QUOTA'))
    .addOption(new Option('--min-upload-rate <bytes/s>', `uploads slower than this over the stall window are cut off (default ${NODE_DEFAULTS.minUploadBytesPerSecond})`).env('MIN_UPLOAD_RATE'))
    .addOption(new Option('--stall-window <ms>', `window over which the upload rate is judged (default ${NODE_DEFAULTS.stallWindowMs})`).env('STALL_WINDOW_MS'))
    .addOption(new Option('--max-connections <n>', `open client connections; more are closed at once (default ${NODE_DEFAULTS.server.maxConnections})`).env('MAX_CONNECTIONS'))
    .addOption(new Option('--headers-timeout <ms>', `time a connection gets to send its request headers (default ${NODE_DEFAULTS.server.headersTimeoutMs})`).env('HEADERS_TIMEOUT_MS'))
    .addOption(new Option('--rate-limit <per-second>', `requests/s per client address (IPv6: per /64) on everything but /gossip/*; 0 = off (default ${NODE_DEFAULTS.rateLimits.publicPerSec})`).env('RATE_LIMIT'))
    .addOption(new Option('--rate-burst <n>', `requests a quiet client address may send at once (default ${NODE_DEFAULTS.rateLimits.publicBurst})`).env('RATE_BURST'))
    .addOption(new Option('--gossip-rate-limit <per-second>', `node-to-node requests/s per peer (twice that per address before the signature check); 0 = off (default ${NODE_DEFAULTS.rateLimits.gossipPerSec})`).env('GOSSIP_RATE_LIMIT'))
    .addOption(new Option('--gossip-rate-burst <n>', `node-to-node requests a quiet peer may send at once (default ${NODE_DEFAULTS.rateLimits.gossipBurst})`).env('GOSSIP_RATE_BURST'))
    .addOption(new Option('--rate-limit-table <n>', `addresses (and peers) each rate limiter remembers, least recently seen forgotten first (default ${NODE_DEFAULTS.rateLimits.tableSize})`).env('RATE_LIMIT_TABLE'))
    .addOption(new Option('--max-peers <n>', `peers this node probes, gossips to and keeps connections to, ${MIN_PEERS}-${LIMITS.maxMembers - 1}; the rest of the members are known, not linked (default ${NODE_DEFAULTS.membership.maxPeers})`).env('MAX_PEERS'))
    .addOption(new Option('--replicas <n|all>', `nodes that own each body, or all (default ${NODE_DEFAULTS.placement.replicas})`).env('REPLICAS'))
    .addOption(new Option('--zone <name>', 'this node\'s zone; owners are spread over distinct zones').env('ZONE'))
    .addOption(new Option('--cache-size <size>', 'disk for bodies this node does not own, e.g. 10GB, or 0 (default 1GiB)').env('CACHE_SIZE'))
    .addOption(new Option('--write-copies <n>', `a write is acknowledged once this many nodes hold it durably (default ${NODE_DEFAULTS.placement.writeCopies})`).env('WRITE_COPIES'))
    .addOption(new Option('--tombstone-grace <ms>', `deleted keys' tombstones are kept at least this long; a node away longer rejoins pull-only (default ${NODE_DEFAULTS.tombstoneGraceMs})`).env('TOMBSTONE_GRACE_MS'))
    .addOption(new Option('--tombstone-sweep <ms>', `how often tombstones past the grace are collected (default ${NODE_DEFAULTS.tombstoneSweepMs})`).env('TOMBSTONE_SWEEP_MS'))
    .addOption(new Option('--max-clock-skew <ms>', `how far peers' wall clocks may be from this node's; further off they are refused and flagged (default ${NODE_DEFAULTS.maxClockSkewMs})`).env('MAX_CLOCK_SKEW_MS'))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate: every listener speaks HTTPS only, peers are dialled over HTTPS (needs --tls-key)').env('TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', 'PEM CA certificate(s) that verify peers and an https:// Point (default: the system CAs)').env('TLS_CA'))
    .addOption(new Option('--auth-public-key <key>', 'the cluster\'s admin public key (gossip-cdn auth init): writes then need client tokens').env('AUTH_PUBLIC_KEY'))
    .addOption(new Option('--private-reads', 'GET and HEAD of /blobs need a read token or a presigned URL too (needs --auth-public-key)').env('PRIVATE_READS'))
    .addOption(new Option('--anonymous-writes', 'without --auth-public-key, accept anonymous writes on a non-loopback address').env('ANONYMOUS_WRITES'))
    .addOption(new Option('--gossip-profile <name>', 'gossip timings: production or local-test (default production)').env('GOSSIP_PROFILE'))
    .addOption(new Option('--alone', 'run without the Point and peers, on purpose').env('ALONE'))
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent').env('LOG_LEVEL'))
    .action(async (flags: NodeFlags) => {
      const input: NodeConfigInput = {};
      if (flags.port !== undefined) input.port = flags.port as unknown as number;
      if (flags.host !== undefined) input.host = flags.host;
      if (flags.advertise !== undefined) input.advertise = flags.advertise;
      if (flags.dataDir !== undefined) input.dataDir = flags.dataDir;
      if (flags.bootstrap !== undefined) input.bootstrapUrls = flags.bootstrap;
      if (flags.clusterSecret !== undefined) input.clusterSecret = flags.clusterSecret;
      if (flags.maxBlobSize !== undefined) input.maxBlobBytes = flags.maxBlobSize;
      if (flags.quota !== undefined) input.quotaBytes = flags.quota;
      if (flags.minUploadRate !== undefined) input.minUploadBytesPerSecond = flags.minUploadRate as unknown as number;
      if (flags.stallWindow !== undefined) input.stallWindowMs = flags.stallWindow as unknown as number;
      // the two server limits a flag sets; undefined keeps the profile's value
      input.server = { maxConnections: flags.maxConnections, headersTimeoutMs: flags.headersTimeout };
      input.rateLimits = {
        publicPerSec: optionalNumber(flags.rateLimit), publicBurst: optionalNumber(flags.rateBurst),
        gossipPerSec: optionalNumber(flags.gossipRateLimit), gossipBurst: optionalNumber(flags.gossipRateBurst),
        tableSize: optionalNumber(flags.rateLimitTable),
      };
      input.membership = { maxPeers: optionalNumber(flags.maxPeers) };
      if (flags.tombstoneGrace !== undefined) input.tombstoneGraceMs = wholeNumber(flags.tombstoneGrace);
      if (flags.tombstoneSweep !== undefined) input.tombstoneSweepMs = wholeNumber(flags.tombstoneSweep);
      if (flags.maxClockSkew !== undefined) input.maxClockSkewMs = wholeNumber(flags.maxClockSkew);
      input.placement = {
        replicas: flags.replicas === undefined ? undefined : flags.replicas.trim() === 'all' ? 'all' : wholeNumber(flags.replicas),
        zone: flags.zone,
        cacheBytes: flags.cacheSize === undefined ? undefined : /^\s*0+\s*$/.test(flags.cacheSize) ? 0 : parseSize(flags.cacheSize) ?? Number.NaN,
        writeCopies: flags.writeCopies === undefined ? undefined : wholeNumber(flags.writeCopies),
      };
      // an empty environment value (TLS_CERT=) means not set
      input.tls = { cert: flags.tlsCert || undefined, key: flags.tlsKey || undefined, ca: flags.tlsCa || undefined };
      // --gossip-profile names the node's profile, which selects every part's (membership, data plane, runtime...)
      if (flags.gossipProfile !== undefined) input.profile = flags.gossipProfile as NodeConfigInput['profile'];
      if (flags.authPublicKey !== undefined) input.authPublicKey = flags.authPublicKey.trim();
      if (flags.privateReads !== undefined) input.privateReads = switchValue(flags.privateReads);
      if (flags.anonymousWrites !== undefined) input.anonymousWrites = switchValue(flags.anonymousWrites);
      if (flags.alone !== undefined) input.alone = Boolean(flags.alone);
      if (flags.logLevel !== undefined) input.logLevel = flags.logLevel as NodeConfigInput['logLevel'];
      let config;
      try {
        config = buildNodeConfig(input);
      } catch (err) {
        // Name the flag the user typed, not the config key behind it.
        fail(flagError(err, FLAG_OF));
      }
      const logger = createLogger({ level: config.logLevel, name: 'gossip-cdn-node' });
      let node: CdnNode;
      try {
        node = await CdnNode.start(config, logger);
      } catch (err) {
        // a TLS file that cannot be used is named by its flag
        fail(flagError(err, FLAG_OF));
      }
      process.stdout.write(`gossip-cdn node ${node.identity.id} listening on ${node.url} (data in ${config.dataDir})\n`);
      onShutdownSignal(async () => {
        await node.stop();
      });
    });
}
