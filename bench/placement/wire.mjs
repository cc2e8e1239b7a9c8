#!/usr/bin/env node
/**
 * npm run bench:placement [-- options]
 *
 * Placement on real processes (proposal 0010): what one 1 MiB write costs in
 * body bytes on the wire, and how long until its owners hold it, with
 * `--replicas 3` and, in the same run, `--replicas all` (every node keeps
 * every body: the baseline placement replaced).
 *
 * Two clusters of 6 node processes (gossip profile local-test), each node on
 * its own 127.0.0.x address, each cluster with its own Point
 * (`gossip-cdn bootstrap`) on Redis (REDIS_URL, default 127.0.0.1:6379, a
 * unique key prefix) and PostgreSQL (DATABASE_URL, default
 * postgres@127.0.0.1:5432, a fresh database), as test/helpers/cluster.ts
 * starts them. Writes alternate between the two clusters, so both run under
 * the same load; each write goes to a random node and is measured alone:
 *
 * - body bytes: the deltas of every node's `cdn_gossip_body_bytes_total`
 *   (direction served and fetched, which must agree), summed over the 6
 *   nodes, from just before the PUT until the owners hold the body and the
 *   counters have stopped moving. Floor: (R − 1) MiB, R = 3 or 6 (the
 *   receiver holds one copy; a receiver that is not an owner must still send
 *   R copies, so its floor is R MiB, reported beside);
 * - time to R owners: from the PUT's acknowledgement until every owner named
 *   by the receiver's `/blobs/{guid}/versions` answers `winner.bodyHeld`;
 * - gossip message bytes in the same window (idle membership traffic included).
 *
 * Medians per mode and per receiver kind (owner / not an owner), with
 * os.loadavg() printed beside the figures. Writes
 * bench/results/placement-wire.json. Every process it starts is stopped, the
 * database dropped and the Redis keys deleted.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { request } from 'undici';
import { wholeNumbers } from '../lib/options.mjs';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const MiB = 1024 * 1024;

const USAGE = `usage: npm run bench:placement -- [options]

  --nodes N        node processes per cluster (default 6)
  --writes N       measured writes per mode (default 15)
  --warmup N       unrecorded writes per mode first (default 1)
  --size-kib N     body size (default 1024: 1 MiB)
  --modes LIST     replica settings, comma-separated (default 3,all)
  --no-save        print only; write no JSON file
  -h, --help       this text

REDIS_URL (default redis://127.0.0.1:6379) and DATABASE_URL (an admin URL, default
postgres://postgres@127.0.0.1:5432/postgres) name the services; each cluster gets a fresh
database and its own Redis key prefix, both removed at the end.
`;

function options() {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '6' },
      writes: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '1' },
      'size-kib': { type: 'string', default: '1024' },
      modes: { type: 'string', default: '3,all' },
      'no-save': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = wholeNumbers(values, USAGE);
  const nodes = int('nodes', 2, 30);
  const modes = values.modes.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of modes) {
    if (m !== 'all' && !(Number.isInteger(Number(m)) && Number(m) >= 1 && Number(m) <= nodes)) {
      process.stderr.write(`--modes: "${m}" is neither a replica count from 1 to ${nodes} nor all\n`);
      process.exit(2);
    }
  }
  return { nodes, writes: int('writes', 1, 200), warmup: int('warmup', 0, 20), size: int('size-kib', 1, 64 * 1024) * 1024, modes, save: !values['no-save'] };
}

const opts = options();
if (!existsSync(cli)) {
  process.stderr.write('dist/cli.js is missing: run `npm run build` first\n');
  process.exit(1);
}
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const adminDbUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { MEMBERSHIP_OPTIONS } = await import(join(root, 'dist/gossip/core/membership-config.js'));
const ROUND_MS = MEMBERSHIP_OPTIONS.profiles.localTest.probeIntervalMs;

const log = (m = '') => process.stdout.write(`${m}\n`);
const note = (m) => process.stderr.write(`bench:placement: ${m}\n`);
const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- processes and cleanup ------------------------------------------------------
const children = new Set();
const cleanups = [];
function killAll() {
  for (const c of children) c.kill('SIGKILL');
}
async function cleanup() {
  killAll();
  for (const f of cleanups.splice(0).reverse()) await f().catch((e) => note(`cleanup: ${e.message}`));
}
// Ctrl-C: the processes, the database and the Redis keys go as after a normal run
process.on('SIGINT', () => { void cleanup().finally(() => process.exit(130)); });
process.on('exit', killAll);

function start(argv, env = {}) {
  const child = spawn(process.execPath, [cli, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.lastErr = () => stderr;
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

async function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, host, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function until(probe, what, timeoutMs = 30_000, everyMs = 20) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try { if (await probe()) return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function get(url) {
  const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}
const getJson = async (url) => JSON.parse((await get(url)).text);

// ---- services: a fresh database and a unique Redis prefix per cluster -----------------
async function freshDatabase() {
  const name = `gcdn_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminDbUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try { await admin.query(`CREATE DATABASE ${name}`); } finally { await admin.end(); }
  const url = new URL(adminDbUrl);
  url.pathname = `/${name}`;
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: adminDbUrl, connectionTimeoutMillis: 5000 });
    await c.connect();
    try { await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } finally { await c.end(); }
  });
  return url.toString();
}

function uniquePrefix() {
  const prefix = `gcdn-bench-${randomBytes(6).toString('hex')}:`;
  cleanups.push(async () => {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
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
  });
  return prefix;
}

// ---- a cluster -------------------------------------------------------------------------
let hostCounter = 60 + randomInt(120);
function nextHost() {
  hostCounter = hostCounter >= 250 ? 10 : hostCounter + 1;
  return `127.0.0.${hostCounter}`;
}

async function startCluster(replicas, n) {
  const dir = mkdtempSync(join(tmpdir(), 'gcdn-bench-placement-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const dbUrl = await freshDatabase();
  const prefix = uniquePrefix();
  const pointPort = await freePort('127.0.0.1');
  const point = start(['bootstrap', '--host', '127.0.0.1', '--port', String(pointPort), '--redis-url', redisUrl, '--database-url', dbUrl,
    '--redis-prefix', prefix, '--heartbeat-ttl', '3']);
  const pointUrl = `http://127.0.0.1:${pointPort}`;
  await until(async () => (await get(`${pointUrl}/healthz`)).status === 200, `the Point (${point.lastErr().trim().split('\n').pop() ?? ''})`, 60_000, 100);
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const host = nextHost();
    const port = await freePort(host);
    const proc = start(['node', '--host', host, '--port', String(port), '--data-dir', join(dir, `n${i}`), '--bootstrap', pointUrl,
      '--gossip-profile', 'local-test', '--replicas', replicas]);
    nodes.push({ index: i, url: `http://${host}:${port}`, proc });
  }
  for (const node of nodes) {
    await until(async () => (await get(`${node.url}/healthz`)).status === 200, `${node.url} (${node.proc.lastErr().trim().split('\n').pop() ?? ''})`, 60_000, 100);
    node.id = (await getJson(`${node.url}/cluster`)).id;
  }
  // every node sees every other alive and places bodies on all n
  await until(async () => {
    for (const node of nodes) {
      const view = await getJson(`${node.url}/cluster`);
      if (view.peers.filter((p) => p.state === 'alive').length < n - 1 || view.placement.members !== n) return false;
    }
    return true;
  }, `${n} nodes to see each other (replicas ${replicas})`, 90_000, 200);
  return { replicas, nodes, procs: [point, ...nodes.map((x) => x.proc)] };
}

// ---- counters ------------------------------------------------------------------------------
async function counters(node) {
  const text = (await get(`${node.url}/metrics`)).text;
  const c = { served: 0, fetched: 0, gossip: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith('cdn_gossip_body_bytes_total{direction="served"}')) c.served += Number(line.split(' ').pop());
    else if (line.startsWith('cdn_gossip_body_bytes_total{direction="fetched"}')) c.fetched += Number(line.split(' ').pop());
    else if (line.startsWith('cdn_gossip_bytes_sent_total{')) c.gossip += Number(line.split(' ').pop());
  }
  return c;
}
async function totals(nodes) {
  const all = await Promise.all(nodes.map(counters));
  return all.reduce((s, c) => ({ served: s.served + c.served, fetched: s.fetched + c.fetched, gossip: s.gossip + c.gossip }), { served: 0, fetched: 0, gossip: 0 });
}

async function held(node, key) {
  const r = await get(`${node.url}/blobs/${key}/versions`);
  return r.status === 200 && JSON.parse(r.text).winner?.bodyHeld === true;
}

/** One write to a random node of `c`, measured alone. */
async function measureWrite(c) {
  const receiver = c.nodes[randomInt(c.nodes.length)];
  const key = randomUUID();
  const body = randomBytes(opts.size);
  const before = await totals(c.nodes);
  const t0 = performance.now();
  const res = await request(`${receiver.url}/blobs/${key}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  await res.body.text();
  const acked = performance.now();
  if (res.statusCode !== 201) throw new Error(`PUT on ${receiver.url} answered ${res.statusCode}`);
  const versions = await getJson(`${receiver.url}/blobs/${key}/versions`);
  const owners = versions.winner.owners ?? [];
  const ownerNodes = owners.map((id) => c.nodes.find((x) => x.id === id)).filter(Boolean);
  if (ownerNodes.length !== owners.length) throw new Error(`the receiver names owners that are not in the cluster: ${owners.join(', ')}`);
  const receiverOwns = owners.includes(receiver.id);
  // every owner holds the body
  const waiting = new Set(ownerNodes);
  const heldAt = [];
  await until(async () => {
    for (const o of [...waiting]) {
      if (await held(o, key)) {
        waiting.delete(o);
        if (o !== receiver) heldAt.push(round(performance.now() - acked));
      }
    }
    return waiting.size === 0;
  }, `the ${owners.length} owners of ${key} to hold it`, 60_000, 10);
  const ownersMs = performance.now() - acked;
  // then until the counters stop moving: served and fetched agree and are unchanged across two polls
  let last = await totals(c.nodes);
  let stable = 0;
  const settleEnd = Date.now() + 5000;
  while (stable < 2 && Date.now() < settleEnd) {
    await sleep(250);
    const now = await totals(c.nodes);
    const same = now.served === last.served && now.fetched === last.fetched;
    stable = same && now.served - before.served === now.fetched - before.fetched ? stable + 1 : 0;
    last = now;
  }
  const windowMs = performance.now() - t0;
  const R = owners.length;
  return {
    key,
    receiver: receiver.index,
    receiverOwns,
    owners: R,
    putMs: round(acked - t0),
    ownersMs: round(ownersMs),
    /** when each owner other than the receiver was first seen holding it, ms after the ack */
    ownerHeldMs: heldAt.sort((a, b) => a - b),
    bodyBytesServed: last.served - before.served,
    bodyBytesFetched: last.fetched - before.fetched,
    gossipBytes: last.gossip - before.gossip,
    windowMs: Math.round(windowMs),
    settled: stable >= 2,
    floorBytes: (R - 1) * opts.size,
  };
}

// ---- report ------------------------------------------------------------------------------------
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mib = (b) => (b === null ? '–' : `${(b / MiB).toFixed(3)} MiB`);

function summarise(replicas, writes, which) {
  const ws = writes.filter(which);
  if (ws.length === 0) return null;
  const R = ws[0].owners;
  const floor = (R - 1) * opts.size;
  const bytes = median(ws.map((w) => w.bodyBytesServed));
  // what this receiver must send at least: R − 1 copies when it owns the body, R when it does not
  const ownFloors = ws.map((w) => (w.receiverOwns ? R - 1 : R) * opts.size);
  return {
    replicas,
    owners: R,
    writes: ws.length,
    bodyBytesMedian: bytes,
    bodyBytesMin: Math.min(...ws.map((w) => w.bodyBytesServed)),
    bodyBytesMax: Math.max(...ws.map((w) => w.bodyBytesServed)),
    fetchedAgrees: ws.every((w) => w.bodyBytesFetched === w.bodyBytesServed),
    floorBytes: floor,
    ratioToFloor: round(bytes / floor, 3),
    ratioToReceiverFloor: round(median(ws.map((w, i) => w.bodyBytesServed / ownFloors[i])), 3),
    ownersMsMedian: round(median(ws.map((w) => w.ownersMs))),
    ownersMsMax: round(Math.max(...ws.map((w) => w.ownersMs))),
    ownersRoundsMedian: round(median(ws.map((w) => w.ownersMs)) / ROUND_MS, 2),
    putMsMedian: round(median(ws.map((w) => w.putMs))),
    gossipBytesMedian: median(ws.map((w) => w.gossipBytes)),
    windowMsMedian: median(ws.map((w) => w.windowMs)),
  };
}

// ---- run -----------------------------------------------------------------------------------------
const startedAt = new Date().toISOString();
const loadAtStart = load();
note(`load average ${loadAtStart.join(' / ')} at start; ${opts.modes.length} clusters of ${opts.nodes} nodes, replicas ${opts.modes.join(' and ')}`);
let exitCode = 0;
const results = { startedAt, cpus: os.cpus().length, node: process.version, nodes: opts.nodes, bodyBytes: opts.size, profile: 'local-test', roundMs: ROUND_MS, loadavg: { start: loadAtStart }, modes: {} };
try {
  const clusters = [];
  for (const m of opts.modes) {
    const t = performance.now();
    clusters.push(await startCluster(m, opts.nodes));
    note(`replicas ${m}: ${opts.nodes} nodes up and agreed in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  for (const c of clusters) {
    for (let i = 0; i < opts.warmup; i++) await measureWrite(c);
  }
  const writes = new Map(clusters.map((c) => [c.replicas, []]));
  const loads = [];
  for (let i = 0; i < opts.writes; i++) {
    for (const c of clusters) {
      const w = await measureWrite(c);
      writes.get(c.replicas).push(w);
      note(`replicas ${c.replicas} write ${i + 1}/${opts.writes} on node ${w.receiver} (${w.receiverOwns ? 'owner' : 'not an owner'}): ${w.bodyBytesServed} body bytes (fetched ${w.bodyBytesFetched}), owners hold it ${w.ownersMs} ms after the ack${w.settled ? '' : ' (counters did not settle in 5 s)'}`);
    }
    loads.push(os.loadavg()[0]);
  }
  results.loadavg.end = load();
  results.loadavg.duringMedian = round(median(loads), 2);
  results.loadavg.duringMax = round(Math.max(...loads), 2);
  for (const c of clusters) {
    const ws = writes.get(c.replicas);
    results.modes[c.replicas] = {
      all: summarise(c.replicas, ws, () => true),
      ownerReceiver: summarise(c.replicas, ws, (w) => w.receiverOwns),
      nonOwnerReceiver: summarise(c.replicas, ws, (w) => !w.receiverOwns),
      writes: ws,
    };
  }
  for (const c of clusters) await Promise.all(c.procs.map(stop));
} catch (err) {
  note(`error: ${err instanceof Error ? err.message : String(err)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
if (exitCode !== 0) process.exit(exitCode);

log('');
log(`Placement, body bytes on the wire for one ${mib(opts.size)} write, ${opts.nodes} node processes (local-test profile, round ${ROUND_MS} ms), ${opts.writes} writes per mode to random nodes, medians`);
log(`load average ${results.loadavg.start.join(' / ')} at start, ${results.loadavg.end.join(' / ')} at the end (1-min median ${results.loadavg.duringMedian}, max ${results.loadavg.duringMax} during the writes), ${results.cpus} CPUs`);
log('');
log('| replicas | receiver | writes | body bytes (median) | floor (R−1) MiB | ratio | ratio to the receiver\'s floor (R−1, or R when not an owner) | min / max | owners hold it, ms after the ack (median / max) | in rounds | gossip message bytes in the window |');
log('|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|');
for (const m of opts.modes) {
  for (const [label, s] of [['owner', results.modes[m].ownerReceiver], ['not an owner', results.modes[m].nonOwnerReceiver], ['all', results.modes[m].all]]) {
    if (s === null) continue;
    log(`| ${m} | ${label} | ${s.writes} | ${mib(s.bodyBytesMedian)} | ${mib(s.floorBytes)} | ${s.ratioToFloor.toFixed(2)}x | ${s.ratioToReceiverFloor.toFixed(2)}x | ${mib(s.bodyBytesMin)} / ${mib(s.bodyBytesMax)} | ${s.ownersMsMedian} / ${s.ownersMsMax} | ${s.ownersRoundsMedian} | ${s.gossipBytesMedian} |`);
  }
}
for (const m of opts.modes) {
  if (!results.modes[m].all.fetchedAgrees) log(`note: replicas ${m}: bytes fetched and bytes served disagree on some write (see the JSON)`);
}
if (opts.save) {
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/placement-wire.json'), `${JSON.stringify(results, null, 2)}\n`);
  log('\nwrote bench/results/placement-wire.json');
}
process.exit(0);
