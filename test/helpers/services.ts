/**
 * Real Redis and PostgreSQL for tests. `REDIS_URL` / `DATABASE_URL` are used
 * when set; otherwise (and always for tests that stop and restart a service)
 * private instances are started from the Debian binaries in a temp dir on a
 * free port, and removed afterwards. PostgreSQL refuses to run as root, so
 * as root it runs as the `postgres` system user (runuser). Each test gets a
 * fresh database and its own Redis key prefix.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { sharedService, startPrivatePostgres as startPostgres, startPrivateRedis as startRedis, type Service } from '../../tools/chaos/services.js';
import { requirePostgres, requireRedisServer, requireServiceBinaries } from './prereqs.js';

export type { Service };

// Checked when a test file loads this module, before it starts anything: the
// binaries of the private instances it would start (one line naming the
// package if missing). Both at once, because a file that uses one service
// nearly always uses both, and one started before the other turned out to be
// missing would be left running.
requireServiceBinaries([...(process.env.REDIS_URL ? [] : ['redis-server' as const]), ...(process.env.DATABASE_URL ? [] : ['postgresql' as const])]);

// The private-instance starters live in tools/chaos/services.ts (the chaos
// runner restarts them as faults); tests use the same ones. These check the
// binary again (with REDIS_URL / DATABASE_URL set it was not checked above)
// and throw synchronously rather than reject, so that in
// `Promise.all([startPrivateRedis(), startPrivatePostgres()])` a missing
// redis-server stops the line before PostgreSQL starts.

/** A private redis-server in a temp dir on a free port. */
export function startPrivateRedis(): Promise<Service> {
  requireRedisServer();
  return startRedis();
}

/** A private PostgreSQL cluster in a temp dir on a free port. */
export function startPrivatePostgres(): Promise<Service> {
  requirePostgres();
  return startPostgres();
}

export function redisForTests(): Promise<Service> {
  return process.env.REDIS_URL ? Promise.resolve(sharedService(process.env.REDIS_URL)) : startPrivateRedis();
}

export function postgresForTests(): Promise<Service> {
  return process.env.DATABASE_URL ? Promise.resolve(sharedService(process.env.DATABASE_URL)) : startPrivatePostgres();
}

/** A new, empty database on the server of `adminUrl`; `drop()` removes it. */
export async function freshDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gcdn_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A Redis key prefix no other test uses; `dropPrefix` deletes its keys afterwards. */
export function uniquePrefix(): string {
  return `gcdn-test-${randomBytes(6).toString('hex')}:`;
}

export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Redis, PostgreSQL and a fresh database for a test's Points, with a key
 * prefix of their own; `cleanups` gets what releases them (the database
 * dropped, the prefix's keys deleted from a shared Redis).
 */
export async function pointBackends(cleanups: (() => Promise<void>)[]): Promise<{ redis: Service; postgres: Service; db: { url: string }; prefix: string }> {
  const redis = await redisForTests();
  const postgres = await postgresForTests();
  const db = await freshDatabase(postgres.url);
  const prefix = uniquePrefix();
  cleanups.push(async () => { await redis.close(); await postgres.close(); });
  cleanups.push(() => db.drop());
  cleanups.push(() => (redis.private ? Promise.resolve() : dropPrefix(redis.url, prefix)));
  return { redis, postgres, db, prefix };
}
