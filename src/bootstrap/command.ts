/**
 * `gossip-cdn bootstrap`: runs the Point (SPEC §3.1). Every flag has an
 * environment twin; a bad value is a one-line error and a non-zero exit;
 * SIGINT/SIGTERM close it gracefully (a second signal exits at once).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { setFlagsFromString } from 'node:v8';
import { createLogger, LOG_LEVELS } from '../log.js';
import { buildPointConfig, POINT_DEFAULTS } from './config.js';
import { startPoint, type RunningPoint } from './server.js';
import { flagError } from '../cli-support.js';
import { TLS_FLAGS } from '../tls.js';

/** The flag (and environment twin) behind each option, to name what the user typed. */
const FLAG_OF: Record<string, string> = {
  port: '--port (PORT)', host: '--host (HOST)', redisUrl: '--redis-url (REDIS_URL)', databaseUrl: '--database-url (DATABASE_URL)',
  dataDir: '--data-dir (DATA_DIR)', clusterSecret: '--cluster-secret (CLUSTER_SECRET)', logLevel: '--log-level (LOG_LEVEL)',
  heartbeatTtlSec: '--heartbeat-ttl (POINT_HEARTBEAT_TTL)', banQuorum: '--ban-quorum (POINT_BAN_QUORUM)',
  banDurationSec: '--ban-duration (POINT_BAN_DURATION)', removeQuorum: '--remove-quorum (POINT_REMOVE_QUORUM)',
  peerPoints: '--peer-points (POINT_PEERS)', redisPrefix: '--redis-prefix (POINT_REDIS_PREFIX)',
  ...TLS_FLAGS,
  rateLimit: '--rate-limit (POINT_RATE_LIMIT)', rateBurst: '--rate-burst (POINT_RATE_BURST)', rateLimitTable: '--rate-limit-table (POINT_RATE_LIMIT_TABLE)',
  challengeTtlSec: '--challenge-ttl (POINT_CHALLENGE_TTL)', maxChallenges: '--max-challenges (POINT_MAX_CHALLENGES)',
  maxChallengesTotal: '--max-challenges-total (POINT_MAX_CHALLENGES_TOTAL)',
};

/** An empty value (e.g. `PORT=` in the environment) means "not set": the default stays. */
function integer(min: number, max: number): (value: string, previous: number) => number {
  return (value: string, previous: number) => {
    if (value.trim() === '') return previous;
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function urlList(value: string): string[] {
  const urls = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const url of urls) {
    if (!URL.canParse(url)) throw new InvalidArgumentError(`not a URL: ${url}`);
  }
  return urls;
}

interface BootstrapFlags {
  port: number;
  host: string;
  redisUrl?: string;
  databaseUrl?: string;
  dataDir: string;
  clusterSecret?: string;
  logLevel: (typeof LOG_LEVELS)[number];
  heartbeatTtl: number;
  banQuorum: number;
  banDuration: number;
  removeQuorum: number;
  peerPoints: string[];
  redisPrefix: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  rateLimit: number;
  rateBurst: number;
  rateLimitTable: number;
  challengeTtl: number;
  maxChallenges: number;
  maxChallengesTotal: number;
}

function fail(message: string): never {
  process.stderr.write(`gossip-cdn bootstrap: ${message}\n`);
  process.exit(1);
}

/**
 * Embedded mode only: PGlite's WASM (PostgreSQL) stays on V8's baseline
 * compiler, Liftoff. V8 otherwise recompiles the functions that run hot while
 * PostgreSQL starts with TurboFan, in background threads whose scratch memory
 * glibc keeps: about 50 MiB of the idle Point's RSS (bench/point/rss.mjs), for
 * code the banlist's queries do not need (20,000 `SELECT 1 FROM t WHERE ip = $1`
 * took 3.2 s on Liftoff alone, 7.5 s with tier-up, on the loaded 2-core VM). Set
 * before PGlite compiles its module, in the Point's own process only (not when
 * a test starts a Point in-process), and it changes nothing but WASM, which
 * only PGlite runs here.
 */
function keepWasmOnBaselineCompiler(): void {
  setFlagsFromString('--liftoff-only');
}

export function registerBootstrapCommand(program: Command): void {
  const d = POINT_DEFAULTS;
  program
    .command('bootstrap')
    .description('run the Point, the bootstrap service nodes register with (Redis + PostgreSQL, or embedded backends without their URLs)')
    .addOption(new Option('--port <port>', 'TCP port to listen on').env('PORT').default(d.port).argParser(integer(0, 65535)))
    .addOption(new Option('--host <host>', 'address to listen on').env('HOST').default(d.host))
    .addOption(new Option('--redis-url <url>', 'Redis for the registry (unset: in-process registry)').env('REDIS_URL'))
    .addOption(new Option('--database-url <url>', 'PostgreSQL for the banlist (unset: embedded PGlite in --data-dir)').env('DATABASE_URL'))
    .addOption(new Option('--data-dir <dir>', 'where the embedded banlist persists').env('DATA_DIR').default(d.dataDir))
    .addOption(new Option('--cluster-secret <secret>', 'require join tokens (prefer the env twin: flags show in ps)').env('CLUSTER_SECRET'))
    .addOption(new Option('--log-level <level>', 'log level').env('LOG_LEVEL').default(d.logLevel).choices(LOG_LEVELS))
    .addOption(new Option('--heartbeat-ttl <seconds>', 'registration lifetime without a heartbeat; nodes heartbeat every ttl/3').env('POINT_HEARTBEAT_TTL').default(d.heartbeatTtlSec).argParser(integer(1, 86_400)))
    .addOption(new Option('--ban-quorum <n>', 'distinct reporter addresses needed to ban an address').env('POINT_BAN_QUORUM').default(d.banQuorum).argParser(integer(1, 100)))
    .addOption(new Option('--ban-duration <seconds>', 'how long a ban lasts unless renewed (default 7 days)').env('POINT_BAN_DURATION').default(d.banDurationSec).argParser(integer(1, 365 * 86_400)))
    .addOption(new Option('--remove-quorum <n>', 'distinct reporter addresses needed to drop an unreachable node').env('POINT_REMOVE_QUORUM').default(d.removeQuorum).argParser(integer(1, 100)))
    .addOption(new Option('--peer-points <urls>', 'comma-separated URLs of other Points of this cluster, answered by /points').env('POINT_PEERS').default([], 'none').argParser(urlList))
    .addOption(new Option('--redis-prefix <prefix>', 'prefix of every Redis key').env('POINT_REDIS_PREFIX').default(d.redisPrefix))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate: the Point speaks HTTPS only (needs --tls-key)').env('TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', 'PEM CA certificate(s); checked, for the same flags as the node (the Point dials nobody)').env('TLS_CA'))
    .addOption(new Option('--rate-limit <per-second>', 'per-address requests/s on /reg, /reg/challenge, /ban and /remove; 0 = off').env('POINT_RATE_LIMIT').default(d.rateLimit).argParser(integer(0, 1_000_000)))
    .addOption(new Option('--rate-burst <n>', 'requests a quiet address may send at once before the rate applies').env('POINT_RATE_BURST').default(d.rateBurst).argParser(integer(1, 10_000_000)))
    .addOption(new Option('--rate-limit-table <n>', 'addresses the rate limiter remembers (least recently seen forgotten first)').env('POINT_RATE_LIMIT_TABLE').default(d.rateLimitTable).argParser(integer(1, 10_000_000)))
    .addOption(new Option('--challenge-ttl <seconds>', 'how long a registration challenge stays usable').env('POINT_CHALLENGE_TTL').default(d.challengeTtlSec).argParser(integer(1, 3600)))
    .addOption(new Option('--max-challenges <n>', 'unused registration challenges one address may hold').env('POINT_MAX_CHALLENGES').default(d.maxChallenges).argParser(integer(1, 10_000)))
    .addOption(new Option('--max-challenges-total <n>', 'challenges issued within one to two TTLs by all Points on the registry, at most').env('POINT_MAX_CHALLENGES_TOTAL').default(d.maxChallengesTotal).argParser(integer(1, 100_000_000)))
    .action(async (flags: BootstrapFlags) => {
      let config;
      try {
        config = buildPointConfig({
          // empty environment values count as unset
          port: flags.port, host: flags.host || d.host, redisUrl: flags.redisUrl || undefined, databaseUrl: flags.databaseUrl || undefined,
          dataDir: flags.dataDir || d.dataDir, clusterSecret: flags.clusterSecret || undefined, logLevel: flags.logLevel,
          heartbeatTtlSec: flags.heartbeatTtl, banQuorum: flags.banQuorum, banDurationSec: flags.banDuration,
          removeQuorum: flags.removeQuorum, peerPoints: flags.peerPoints, redisPrefix: flags.redisPrefix || d.redisPrefix,
          tls: { cert: flags.tlsCert || undefined, key: flags.tlsKey || undefined, ca: flags.tlsCa || undefined },
          rateLimit: flags.rateLimit, rateBurst: flags.rateBurst, rateLimitTable: flags.rateLimitTable,
          challengeTtlSec: flags.challengeTtl, maxChallenges: flags.maxChallenges, maxChallengesTotal: flags.maxChallengesTotal,
        });
      } catch (err) {
        fail(`error: ${(flagError(err, FLAG_OF) as Error).message}`);
      }
      const logger = createLogger({ level: config.logLevel, name: 'gossip-cdn-point' });
      if (config.databaseUrl === undefined) keepWasmOnBaselineCompiler();
      let point: RunningPoint;
      try {
        point = await startPoint(config, { logger });
      } catch (err) {
        const named = flagError(err, FLAG_OF);
        fail(named === err ? `cannot start: ${(err as Error).message}` : `error: ${(named as Error).message}`);
      }
      const registry = point.registryKind === 'redis' ? 'Redis' : 'in-process (embedded)';
      const banlist = point.banlistKind === 'postgres' ? 'PostgreSQL' : `PGlite in ${config.dataDir} (embedded)`;
      process.stdout.write(`Point listening on ${point.url} (registry: ${registry}; banlist: ${banlist})\n`);

      let signalled = false;
      const shutdown = (signal: NodeJS.Signals): void => {
        if (signalled) process.exit(1);
        signalled = true;
        logger.info({ signal }, 'stopping');
        point.stop().then(() => process.exit(0), (err: Error) => fail(`unclean stop: ${err.message}`));
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });
}
