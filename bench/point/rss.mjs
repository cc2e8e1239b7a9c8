#!/usr/bin/env node
/**
 * Idle memory of the Point (`npm run build && node bench/point/rss.mjs`).
 *
 * Starts the real CLI (`node dist/cli.js bootstrap --host 127.0.0.1 --port 0`)
 * and, once /healthz answers 200, samples VmRSS from /proc/PID/status (Linux)
 * every 250 ms for --idle seconds, with nothing calling it. Reported: the RSS
 * at the end of the idle window, the highest sample inside it, and VmHWM (the
 * process's peak since start). Four processes, one after the other:
 *
 *   node -e       a bare Node process idling (`node -e 'setInterval(...)'`),
 *                 and `node -e 0`'s peak RSS (process.resourceUsage().maxRSS)
 *   embedded, fresh data dir     in-process registry + PGlite, first start
 *                                (PGlite's initdb runs)
 *   embedded, existing data dir  the same --data-dir again (a restart)
 *   Redis + PostgreSQL           --redis-url / --database-url (REDIS_URL /
 *                                DATABASE_URL, default redis://127.0.0.1:6379
 *                                and postgresql://postgres@127.0.0.1:5432/postgres;
 *                                the Point runs its migrations in a scratch
 *                                database created on that server and dropped
 *                                at the end, under a unique Redis key prefix);
 *                                skipped when they cannot be reached
 *
 * The load average (os.loadavg()) is printed before and after: RSS moves
 * little with load, start-up time a lot. Figures, not a pass/fail test.
 *
 *   node bench/point/rss.mjs [--idle 5] [--json FILE]
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { fetch } from 'undici';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const CLI = join(REPO, 'dist', 'cli.js');
const { values } = parseArgs({ options: { idle: { type: 'string', default: '5' }, json: { type: 'string' } } });
const IDLE_MS = Number(values.idle) * 1000;
const SAMPLE_MS = 250;
/** how long a Point may take to answer /healthz (a fresh PGlite runs initdb: seconds, more on a loaded machine) */
const START_TIMEOUT_MS = 120_000;
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const log = (m = '') => process.stdout.write(`${m}\n`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const running = new Set();
process.on('exit', () => { for (const child of running) child.kill('SIGKILL'); });

/** VmRSS, VmHWM (and RssAnon / RssFile) of a process in MiB, from /proc/PID/status. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024, anon: kib('RssAnon') / 1024, file: kib('RssFile') / 1024 };
}

/** Spawns `args` under this Node; resolves once `ready(output)` returns a truthy value, which it passes on. */
function start(args, env = {}) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => { running.delete(child); resolveExit(code ?? signal); }));
  return { child, exited, output: () => output };
}

/** Polls until `probe` returns a value (bounded); fails early if the process exits. */
async function until(proc, what, probe) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  void proc.exited.then(() => { gone = true; });
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (gone) throw new Error(`${what} exited before it was ready:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${START_TIMEOUT_MS / 1000} s:\n${proc.output()}`);
    await sleep(50);
  }
}

/** Samples the process's memory for IDLE_MS while nothing talks to it. */
async function idle(pid) {
  const samples = [];
  const end = Date.now() + IDLE_MS;
  while (Date.now() < end) {
    samples.push(memory(pid));
    await sleep(SAMPLE_MS);
  }
  const last = memory(pid);
  return { ...last, idleMax: Math.max(last.rss, ...samples.map((s) => s.rss)) };
}

async function stop(proc) {
  proc.child.kill('SIGTERM');
  const code = await Promise.race([proc.exited, sleep(15_000).then(() => 'timeout')]);
  if (code === 'timeout') proc.child.kill('SIGKILL');
  return code;
}

/** A Point from the CLI: listening URL from its banner, then /healthz 200, then the idle window. */
async function point(name, args, env) {
  const started = Date.now();
  const proc = start([CLI, 'bootstrap', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...args], env);
  const url = await until(proc, name, async () => /Point listening on (http:\/\/\S+)/.exec(proc.output())?.[1]);
  const health = await until(proc, name, async () => {
    const res = await fetch(`${url}/healthz`);
    return res.status === 200 ? res.json() : undefined;
  });
  const readyMs = Date.now() - started;
  const mem = await idle(proc.child.pid);
  const code = await stop(proc);
  return { name, readyMs, ...mem, health, exit: code };
}

async function bareNode() {
  const proc = start(['-e', 'setInterval(() => {}, 1 << 30); process.stdout.write("ready\\n")']);
  await until(proc, 'node -e', async () => (proc.output().includes('ready') ? true : undefined));
  const mem = await idle(proc.child.pid);
  await stop(proc);
  const zero = spawnSync(process.execPath, ['-e', 'process.on("exit", () => process.stdout.write(String(process.resourceUsage().maxRSS)))'], { encoding: 'utf8' });
  return { name: 'node -e (bare, idle)', readyMs: Number.NaN, ...mem, zeroMaxRss: Number(zero.stdout) / 1024 };
}

async function services() {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const admin = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await redis.connect();
    await redis.ping();
    await admin.connect();
  } catch (err) {
    redis.disconnect();
    await admin.end().catch(() => undefined);
    return { skipped: `Redis ${REDIS_URL} / PostgreSQL ${DATABASE_URL} not reachable (${err.message})` };
  }
  redis.disconnect();
  const database = `gcdn_bench_rss_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  return {
    redisUrl: REDIS_URL, databaseUrl: url.toString(), prefix: `bench-rss-${randomBytes(4).toString('hex')}:`,
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    },
  };
}

const mib = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} MiB` : '-');

async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: run \`npm run build\` first`);
  log(`Point idle RSS: VmRSS after /healthz answered and ${IDLE_MS / 1000} s idle; ${cpus().length} CPUs, Node ${process.version}`);
  const loadBefore = load();
  log(`load average before: ${loadBefore}`);
  const embedded = { REDIS_URL: '', DATABASE_URL: '' };
  const dataDir = mkdtempSync(join(tmpdir(), 'gcdn-bench-rss-'));
  const rows = [];
  try {
    rows.push(await bareNode());
    rows.push(await point('embedded, fresh data dir', ['--data-dir', dataDir], embedded));
    rows.push(await point('embedded, existing data dir', ['--data-dir', dataDir], embedded));
    const svc = await services();
    if ('skipped' in svc) {
      log(`Redis + PostgreSQL: skipped: ${svc.skipped}`);
    } else {
      try {
        rows.push(await point('Redis + PostgreSQL', ['--redis-url', svc.redisUrl, '--database-url', svc.databaseUrl, '--redis-prefix', svc.prefix], {}));
      } finally {
        await svc.drop();
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const loadAfter = load();
  log('');
  log('process                        ready in   idle RSS   (anon + file)      max while idle   peak (VmHWM)');
  for (const r of rows) {
    log(`${r.name.padEnd(30)} ${(Number.isFinite(r.readyMs) ? `${(r.readyMs / 1000).toFixed(1)} s` : '-').padStart(8)}   ${mib(r.rss).padStart(8)}   (${mib(r.anon)} + ${mib(r.file)})`.padEnd(80) + `${mib(r.idleMax).padStart(8)}   ${mib(r.hwm).padStart(8)}`);
  }
  const bare = rows[0];
  log(`node -e 0: peak RSS ${mib(bare.zeroMaxRss)} (process.resourceUsage().maxRSS at exit)`);
  for (const r of rows.slice(1)) {
    if (r.health?.status !== 'ok') log(`warning: ${r.name}: /healthz said ${JSON.stringify(r.health)}`);
    if (r.exit !== 0) log(`warning: ${r.name}: exited with ${r.exit} on SIGTERM`);
  }
  log(`load average after: ${loadAfter}`);
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify({ when: new Date().toISOString(), node: process.version, cpus: cpus().length, idleMs: IDLE_MS, loadBefore, loadAfter, rows }, null, 2)}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
