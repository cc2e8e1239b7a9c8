/**
 * Runs one Point for the benchmark in its own process, exactly as
 * `gossip-cdn bootstrap` builds it (buildPointConfig + startPoint from dist/),
 * without the rest of the CLI, so the benchmark depends only on the Point's
 * build. Prints "Point listening on URL" when ready; SIGTERM stops it.
 *
 * Usage: node bench/point/point-process.mjs --port P --redis-url URL --database-url URL --prefix PREFIX
 */
import { parseArgs } from 'node:util';
import process from 'node:process';
import { buildPointConfig } from '../../dist/bootstrap/config.js';
import { startPoint } from '../../dist/bootstrap/server.js';
import { createLogger } from '../../dist/log.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'redis-url': { type: 'string' }, 'database-url': { type: 'string' }, prefix: { type: 'string' } } });
const config = buildPointConfig({
  port: Number(values.port), host: '127.0.0.1', redisUrl: values['redis-url'], databaseUrl: values['database-url'], redisPrefix: values.prefix,
  logLevel: 'warn',
  // the benchmark runs longer than one default TTL without heartbeating every node
  heartbeatTtlSec: 3600,
  // every call comes from one address: the per-address rate limit and challenge caps would measure
  // themselves, not the Point (test/security/rate-limits.test.ts covers them)
  rateLimit: 0, maxChallenges: 10_000, maxChallengesTotal: 100_000_000,
});
const point = await startPoint(config, { logger: createLogger({ level: 'warn', name: 'bench-point' }) });
process.stdout.write(`Point listening on ${point.url}\n`);
process.once('SIGTERM', () => { void point.stop().then(() => process.exit(0)); });
