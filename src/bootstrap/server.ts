/**
 * The Point's lifecycle: pick the backends (Redis and PostgreSQL when their
 * URLs are given, the in-process registry and PGlite otherwise, and say so),
 * start them, run the sweeper and the ban snapshot, listen; `stop()` closes
 * the listener (finishing in-flight requests within a bound), every timer and
 * every connection.
 */
import { randomBytes } from 'node:crypto';
import { handleLookFast } from './look-fast-path.js';
import { dropSilentConnections } from '../connection-guard.js';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { formatHostPort } from '../host-port.js';
import { createPointApp } from './app.js';
import { BanCache } from './ban-cache.js';
import type { Banlist } from './banlist.js';
import type { PointConfig } from './config.js';
import type { PointContext } from './context.js';
import { MemoryRegistry } from './memory-registry.js';
import { PointMetrics } from './metrics.js';
import { PostgresBanlist } from './postgres-banlist.js';
import { RedisRegistry } from './redis-registry.js';
import type { Clock, Registry } from './registry.js';
import { pgExecutor, pgliteExecutor } from './sql-executor.js';
import { createListener, loadTls, schemeOf, type HttpServer } from '../tls.js';
import { RateLimiter } from '../rate-limit/limiter.js';

/** Lapsed bans and old reports are deleted this often. */
const PURGE_INTERVAL_MS = 60_000;
/** Sweeps run back to back at most this many times when each fills its batch. */
const MAX_SWEEPS_PER_TICK = 20;
/** Open client connections; beyond it the kernel's backlog holds new ones (keep-alive clients use a few each). */
const MAX_CONNECTIONS = 10_000;

export interface PointOptions {
  logger?: Logger;
  clock?: Clock;
  /** injected backends (tests); otherwise chosen from the config */
  registry?: { impl: Registry; kind: 'redis' | 'memory' };
  banlist?: { impl: Banlist; kind: 'postgres' | 'pglite' };
}

export interface RunningPoint {
  /** e.g. http://127.0.0.1:8080, https:// with TLS (a wildcard host is shown as loopback) */
  readonly url: string;
  readonly port: number;
  readonly registryKind: 'redis' | 'memory';
  readonly banlistKind: 'postgres' | 'pglite';
  stop(): Promise<void>;
}

export function createRegistry(config: PointConfig, logger: Logger, clock?: Clock): { impl: Registry; kind: 'redis' | 'memory' } {
  if (config.redisUrl === undefined) return { impl: new MemoryRegistry(clock ? { clock } : {}), kind: 'memory' };
  return {
    impl: new RedisRegistry({
      url: config.redisUrl, prefix: config.redisPrefix, commandTimeoutMs: config.redisCommandTimeoutMs,
      logger: logger.child({ component: 'registry' }), ...(clock ? { clock } : {}),
    }),
    kind: 'redis',
  };
}

export async function createBanlist(config: PointConfig, logger: Logger): Promise<{ impl: Banlist; kind: 'postgres' | 'pglite' }> {
  const policy = { quorum: config.banQuorum, durationMs: config.banDurationSec * 1000 };
  const banlistLogger = logger.child({ component: 'banlist' });
  const db = config.databaseUrl !== undefined
    ? pgExecutor({ url: config.databaseUrl, poolSize: config.pgPoolSize, timeoutMs: config.pgTimeoutMs, logger: banlistLogger })
    : await pgliteExecutor(join(config.dataDir, 'banlist'));
  return { impl: new PostgresBanlist(db, policy, banlistLogger), kind: db.kind };
}

export async function startPoint(config: PointConfig, options: PointOptions = {}): Promise<RunningPoint> {
  // TLS files first: a bad one is a config error before any backend is touched
  const tls = loadTls(config.tls);
  const base = options.logger ?? silentLogger();
  const logger = base.child({ component: 'point' });
  const registry = options.registry ?? createRegistry(config, base, options.clock);
  const banlist = options.banlist ?? await createBanlist(config, base);
  if (registry.kind === 'memory') logger.info('embedded registry: in-process (no REDIS_URL); registrations are lost on restart');
  if (banlist.kind === 'pglite') logger.info({ dataDir: config.dataDir }, 'embedded banlist: PGlite (no DATABASE_URL), persisted in the data dir');

  const metrics = new PointMetrics();
  await Promise.all([registry.impl.start(), banlist.impl.start()]);
  const banCache = new BanCache(banlist.impl, config.banRefreshMs, logger, (n) => metrics.bannedAddresses.set(n));
  const ctx: PointContext = {
    config, registry: registry.impl, registryKind: registry.kind, banlist: banlist.impl, banlistKind: banlist.kind,
    banCache, metrics, logger, newSessionKey: () => randomBytes(32).toString('base64url'), random: Math.random,
    limiter: new RateLimiter({ ratePerSec: config.rateLimit, burst: config.rateBurst, maxEntries: config.rateLimitTable }),
  };
  const app = createPointApp(ctx);
  const headersTimeout = Math.min(config.requestTimeoutMs, 10_000);
  // with TLS, HTTPS only: a handshake must finish within the headers timeout too
  const server = createListener({
    requestTimeout: config.requestTimeoutMs,
    headersTimeout,
    keepAliveTimeout: 5000,
    // node:http checks the timeouts this often (30 s by default)
    connectionsCheckingInterval: Math.max(100, Math.floor(headersTimeout / 4)),
  }, tls, headersTimeout, (req, res) => {
    if (!handleLookFast(ctx, req, res)) app(req, res);
  });
  // malformed requests get node:http's own 400 / 431 and a closed connection
  server.maxConnections = MAX_CONNECTIONS;
  dropSilentConnections(server, headersTimeout);
  const port = await listen(server, config.port, config.host);
  banCache.start();
  const sweeper = startSweeper(ctx);

  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `${schemeOf(tls)}://${formatHostPort(shownHost, port)}`;
  logger.info({ url, registry: registry.kind, banlist: banlist.kind, tls: tls.server !== undefined }, 'point listening');
  let stopping: Promise<void> | undefined;
  return {
    url, port, registryKind: registry.kind, banlistKind: banlist.kind,
    stop: () => {
      stopping ??= (async () => {
        sweeper.stop();
        banCache.stop();
        await close(server, config.shutdownGraceMs);
        await Promise.allSettled([registry.impl.stop(), banlist.impl.stop()]);
        logger.info('point stopped');
      })();
      return stopping;
    },
  };
}

async function listen(server: HttpServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting, lets in-flight requests finish within `graceMs`, then cuts what is left. */
async function close(server: HttpServer, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

/** Trims lapsed registrations every sweepIntervalMs and purges lapsed bans every minute. */
function startSweeper(ctx: PointContext): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastPurge = Date.now();
  const tick = async (): Promise<void> => {
    try {
      for (let i = 0; i < MAX_SWEEPS_PER_TICK && !stopped; i++) {
        const removed = await ctx.registry.sweep(ctx.config.sweepBatch);
        ctx.metrics.removed.inc({ reason: 'expired' }, removed);
        if (removed < ctx.config.sweepBatch) break;
      }
      ctx.metrics.registered.set(await ctx.registry.size());
    } catch (err) {
      ctx.logger.debug({ err: (err as Error).message }, 'sweep skipped');
    }
    if (Date.now() - lastPurge >= PURGE_INTERVAL_MS) {
      lastPurge = Date.now();
      await ctx.banlist.purge().catch((err: Error) => ctx.logger.debug({ err: err.message }, 'ban purge skipped'));
    }
    if (!stopped) {
      timer = setTimeout(() => void tick(), ctx.config.sweepIntervalMs);
      timer.unref();
    }
  };
  timer = setTimeout(() => void tick(), ctx.config.sweepIntervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
