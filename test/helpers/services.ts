/**
 * Real Redis and PostgreSQL for tests. `REDIS_URL` / `DATABASE_URL` are used
 * when set; otherwise (and always for tests that stop and restart a service)
 * private instances are started from the Debian binaries in a temp dir on a
 * free port, and removed afterwards. PostgreSQL refuses to run as root, so
 * as root it runs as the `postgres` system user (runuser). Each test gets a
 * fresh database and its own Redis key prefix.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from './net.js';
import { waitFor } from './wait.js';

export interface Service {
  readonly url: string;
  /** false for the REDIS_URL / DATABASE_URL instances, which tests must never stop */
  readonly private: boolean;
  /** stops the server (data kept for a restart); private instances only */
  stop(): Promise<void>;
  /** starts it again on the same port; private instances only */
  start(): Promise<void>;
  /** stops it for good and removes its files */
  close(): Promise<void>;
}

function which(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

function sharedService(url: string): Service {
  const refuse = async (): Promise<void> => { throw new Error(`${url} is shared (from the environment); use a private instance to stop it`); };
  return { url, private: false, stop: refuse, start: refuse, close: async () => undefined };
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

export async function startPrivateRedis(): Promise<Service> {
  if (!which('redis-server')) {
    throw new Error('redis-server is not installed: install the Debian package `redis-server` (apt-get install redis-server), or set REDIS_URL');
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gcdn-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    child = proc;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    }, { what: `redis-server on ${port}`, timeoutMs: 15_000 });
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined) return;
    proc.kill('SIGKILL');
    await exited(proc);
  };
  await start();
  return { url, private: true, start, stop, close: async () => { await stop(); rmSync(dir, { recursive: true, force: true }); } };
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) {
    throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): install the Debian package `postgresql` (apt-get install postgresql), or set DATABASE_URL');
  }
  return join(root, newest, 'bin');
}

/** Runs a PostgreSQL tool, as the `postgres` user when we are root. */
function asPostgres(command: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  const result = root
    ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8' })
    : spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout || result.error?.message}`);
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('running as root but there is no `postgres` system user to run PostgreSQL as: install the Debian package `postgresql` (it creates the user), or set DATABASE_URL');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startPrivatePostgres(): Promise<Service> {
  const bin = postgresBin();
  const owner = postgresUser();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gcdn-pg-'));
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  let running = false;
  const start = async (): Promise<void> => {
    if (running) return;
    asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
    running = true;
  };
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  };
  await start();
  return { url, private: true, start, stop, close: async () => { await stop(); rmSync(dir, { recursive: true, force: true }); } };
}

export async function redisForTests(): Promise<Service> {
  return process.env.REDIS_URL ? sharedService(process.env.REDIS_URL) : startPrivateRedis();
}

export async function postgresForTests(): Promise<Service> {
  return process.env.DATABASE_URL ? sharedService(process.env.DATABASE_URL) : startPrivatePostgres();
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
