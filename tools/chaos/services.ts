/**
 * Private Redis and PostgreSQL instances from the Debian binaries, each in a
 * temp dir on a free port, that can be stopped and started again on the
 * same port over the same data dir. The chaos runner restarts them as
 * faults; the integration tests (test/helpers/services.ts) use the same
 * starters. PostgreSQL refuses to run as root, so as root its tools run as
 * the `postgres` system user (runuser).
 *
 * Every tool runs asynchronously: the chaos runner's fault proxy and clients
 * share this event loop, and a blocking pg_ctl would pause the network.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './net.js';
import { waitFor } from './wait.js';

export interface Service {
  readonly url: string;
  /** false for the REDIS_URL / DATABASE_URL instances, which must never be stopped */
  readonly private: boolean;
  /** stops the server (data kept for a restart); private instances only */
  stop(): Promise<void>;
  /** starts it again on the same port; private instances only */
  start(): Promise<void>;
  /** stops it for good and removes its files */
  close(): Promise<void>;
}

/** Most output kept from a tool that failed, for its error message. */
const MAX_TOOL_OUTPUT = 4096;

/** Runs a command to completion (bounded by `timeoutMs`); rejects with its output on failure. */
export async function run(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (chunk: Buffer): void => { if (out.length < MAX_TOOL_OUTPUT) out += chunk.toString(); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    // 'close', not 'exit': output can still be arriving when the process has exited.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}): ${out.trim().slice(0, 1000)}`));
    });
  });
}

async function which(binary: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${binary}`], 5000).then(() => true, () => false);
}

export function sharedService(url: string): Service {
  const refuse = async (): Promise<void> => { throw new Error(`${url} is shared (from the environment); use a private instance to stop it`); };
  return { url, private: false, stop: refuse, start: refuse, close: async () => undefined };
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

/**
 * A private redis-server without persistence: a restart (stop = kill -9)
 * comes back empty, as a Redis that lost its memory would.
 */
export async function startPrivateRedis(): Promise<Service> {
  if (!(await which('redis-server'))) {
    throw new Error('redis-server is not installed: install the Debian package `redis-server` (apt-get install redis-server), or set REDIS_URL');
  }
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'gcdn-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    child = proc;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
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
  return { url, private: true, start, stop, close: async () => { await stop(); await rm(dir, { recursive: true, force: true }); } };
}

async function postgresBin(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const versions: string[] = [];
  for (const v of await readdir(root).catch(() => [] as string[])) {
    if (await stat(join(root, v, 'bin', 'postgres')).then(() => true, () => false)) versions.push(v);
  }
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) {
    throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): install the Debian package `postgresql` (apt-get install postgresql), or set DATABASE_URL');
  }
  return join(root, newest, 'bin');
}

const asRoot = (): boolean => process.getuid?.() === 0;

/** Runs a PostgreSQL tool, as the `postgres` user when we are root. */
async function asPostgres(command: string, args: string[], timeoutMs = 60_000): Promise<void> {
  if (asRoot()) await run('runuser', ['-u', 'postgres', '--', command, ...args], timeoutMs);
  else await run(command, args, timeoutMs);
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (!asRoot()) return undefined;
  let ids: [string, string];
  try {
    ids = [(await run('id', ['-u', 'postgres'], 5000)).trim(), (await run('id', ['-g', 'postgres'], 5000)).trim()];
  } catch {
    throw new Error('running as root but there is no `postgres` system user to run PostgreSQL as: install the Debian package `postgresql` (it creates the user), or set DATABASE_URL');
  }
  if (!ids.every((id) => /^\d+$/.test(id))) throw new Error(`could not read the postgres user's uid and gid (id said ${JSON.stringify(ids)})`);
  return { uid: Number(ids[0]), gid: Number(ids[1]) };
}

/** A private PostgreSQL cluster; stop is `pg_ctl stop -m fast`, start reuses the data dir. */
export async function startPrivatePostgres(): Promise<Service> {
  const bin = await postgresBin();
  const owner = await postgresUser();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'gcdn-pg-'));
  if (owner !== undefined) await chown(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  await asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  let running = false;
  const start = async (): Promise<void> => {
    if (running) return;
    await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
    running = true;
  };
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
  };
  await start();
  return { url, private: true, start, stop, close: async () => { await stop().catch(() => undefined); await rm(dir, { recursive: true, force: true }); } };
}
