#!/usr/bin/env node
/**
 * The Point benchmark (`npm run bench:point`, after `npm run build`).
 *
 * Scenario: a Point (bench/point/point-process.mjs: what `gossip-cdn
 * bootstrap` runs, from dist/, in its own process) on real
 * Redis and PostgreSQL (REDIS_URL / DATABASE_URL, or private instances),
 * 1,000 registered nodes. autocannon drives, in turn:
 *   look       GET /look?key=K&numnodes=8, K cycling over the 1,000 session keys
 *   floor      the same look against a bare node:http server doing one EVALSHA
 *              of the same script on the same Redis (bench/point/floor-server.mjs)
 *   express floor  the same handler as a single express route: splits the
 *              Point's overhead into what express costs and what ours costs
 *   heartbeat  POST /heartbeat {key}, cycling over the 1,000 keys
 *   challenge  POST /reg/challenge {publicKey}, cycling over 1,000 more keys: the first of
 *              the two calls of a registration (the second, /reg, is the old reg plus
 *              one Ed25519 verification and a GETDEL; setup times 1,000 of them)
 * Each runs --rounds times for --duration seconds; the report gives the median
 * requests/s and p99 latency of each, the look/floor ratio (target >= 0.7), and
 * how many nodes one Point can carry at the default heartbeat interval.
 * Results go to bench/results/point-latest.json (the run's time and load average inside).
 *
 *   node bench/point/run.mjs [--duration 5] [--rounds 3] [--connections 16] [--nodes 1000]
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { fetch } from 'undici';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { freePort, postgresService, redisService } from './services.mjs';
import { regProofMessage } from '../../dist/bootstrap/caller.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const BUILT = join(REPO, 'dist', 'bootstrap', 'server.js');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    nodes: { type: 'string', default: '1000' },
  },
});
const DURATION = Number(values.duration);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const NODES = Number(values.nodes);
/** POINT_DEFAULTS.heartbeatTtlSec / 3: how often a node heartbeats by default */
const DEFAULT_HEARTBEAT_INTERVAL_S = 10;
const log = (m = '') => process.stdout.write(`${m}\n`);
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux we run on) */
const CLOCK_TICKS = 100;

const children = [];
const cleanups = [];

function startProcess(args, env, ready) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolveReady, reject) => {
    const onData = (chunk) => {
      out += chunk.toString();
      if (ready.test(out)) resolveReady(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)));
  });
}

function publicKey() {
  return generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x;
}

/** Registers a new key the way nodes do: a challenge, then /reg with it signed. */
async function register(url, port) {
  const { privateKey, publicKey: pub } = generateKeyPairSync('ed25519');
  const key = pub.export({ format: 'jwk' }).x;
  const { challenge } = await post(url, '/reg/challenge', { publicKey: key });
  return post(url, '/reg', { port, publicKey: key, challenge, signature: sign(null, regProofMessage(challenge, key, port), privateKey).toString('base64url') });
}

async function post(url, path, body) {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

function cycle(items) {
  let i = 0;
  return () => items[i++ % items.length];
}

/** CPU time (user + system) a process has used, in microseconds, from /proc (Linux). */
function cpuMicros(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * One timed run. Besides requests/s and latency it reports the server's own
 * CPU time per request: on a shared machine throughput moves with whatever
 * else runs, CPU per request much less.
 */
async function drive(name, url, request, pid) {
  const before = cpuMicros(pid);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, requests: [request] });
  const cpuPerRequest = (cpuMicros(pid) - before) / Math.max(1, result.requests.total);
  const bad = result.non2xx + result.errors + result.timeouts;
  return { name, rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, bad, total: result.requests.total, cpuUs: Math.round(cpuPerRequest) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} not found: run \`npm run build\` first`);
  const [redis, postgres] = await Promise.all([redisService(), postgresService()]);
  cleanups.push(redis.close, postgres.close);
  const prefix = `bench-${randomBytes(4).toString('hex')}:`;
  const pointPort = await freePort();
  const floorPort = await freePort();
  const expressFloorPort = await freePort();
  const pointProcess = await startProcess([join(HERE, 'point-process.mjs'), '--port', String(pointPort), '--redis-url', redis.url, '--database-url', postgres.url, '--prefix', prefix], {}, /Point listening/);
  const floorProcess = await startProcess([join(HERE, 'floor-server.mjs'), '--port', String(floorPort), '--redis-url', redis.url, '--prefix', prefix], {}, /floor ready/);
  const expressFloorProcess = await startProcess([join(HERE, 'floor-server.mjs'), '--port', String(expressFloorPort), '--redis-url', redis.url, '--prefix', prefix, '--framework', 'express'], {}, /floor ready/);
  const point = `http://127.0.0.1:${pointPort}`;
  const floor = `http://127.0.0.1:${floorPort}`;
  const expressFloor = `http://127.0.0.1:${expressFloorPort}`;

  log(`Point benchmark: ${NODES} nodes, ${CONNECTIONS} connections, ${ROUNDS} rounds x ${DURATION} s per call`);
  log(`Redis: ${redis.kind}; PostgreSQL: ${postgres.kind}; ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  log(`load average before the run: ${loadBefore.join(' ')} (anything else running moves requests/s; CPU per request moves less)`);
  const probe = new Redis(redis.url);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await probe.info('memory'))?.[1] ?? 0);
  const memoryBefore = await usedMemory();
  const nodes = [];
  const regStarted = performance.now();
  for (let i = 0; i < NODES; i += 50) {
    nodes.push(...await Promise.all(Array.from({ length: Math.min(50, NODES - i) }, (_, j) => register(point, 7000 + ((i + j) % 1000)))));
  }
  const regMs = performance.now() - regStarted;
  const keys = nodes.map((n) => n.key);
  const bytesPerNode = Math.round((await usedMemory() - memoryBefore) / NODES);
  probe.disconnect();
  const challengeBodies = Array.from({ length: NODES }, () => JSON.stringify({ publicKey: publicKey() }));
  log(`registered ${nodes.length} nodes (challenge + signed reg, 50 at a time: ${(nodes.length / (regMs / 1000)).toFixed(0)} registrations/s; ~${bytesPerNode} bytes of Redis memory each)\n`);

  const nextKey = cycle(keys);
  const nextBody = cycle(challengeBodies);
  const scenarios = [
    ['look', point, pointProcess.pid, { method: 'GET', setupRequest: (req) => ({ ...req, path: `/look?key=${nextKey()}&numnodes=8` }) }],
    ['floor look', floor, floorProcess.pid, { method: 'GET', setupRequest: (req) => ({ ...req, path: `/look?key=${nextKey()}&numnodes=8` }) }],
    ['express floor', expressFloor, expressFloorProcess.pid, { method: 'GET', setupRequest: (req) => ({ ...req, path: `/look?key=${nextKey()}&numnodes=8` }) }],
    ['heartbeat', point, pointProcess.pid, { method: 'POST', path: '/heartbeat', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify({ key: nextKey() }) }) }],
    ['challenge', point, pointProcess.pid, { method: 'POST', path: '/reg/challenge', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: nextBody() }) }],
  ];
  // warm up JIT and connection pools
  for (const [name, url, , request] of scenarios) await autocannon({ url, connections: 4, amount: 500, requests: [request] }).catch(() => log(`warm-up of ${name} failed`));

  const runs = Object.fromEntries(scenarios.map(([name]) => [name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, url, pid, request] of scenarios) {
      const r = await drive(name, url, request, pid);
      runs[name].push(r);
      log(`round ${round}  ${name.padEnd(13)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(3)} ms   server CPU ${String(r.cpuUs).padStart(4)} µs/req${r.bad ? `   ${r.bad} failed` : ''}`);
    }
  }

  const summary = Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, {
    rps: Math.round(median(rs.map((r) => r.rps))), p99Ms: median(rs.map((r) => r.p99)), cpuUsPerRequest: median(rs.map((r) => r.cpuUs)),
    failed: rs.reduce((n, r) => n + r.bad, 0), runs: rs,
  }]));
  const ratio = summary.look.rps / summary['floor look'].rps;
  const roundRatios = runs.look.map((r, i) => r.rps / runs['floor look'][i].rps);
  const cpuRatio = summary['floor look'].cpuUsPerRequest / summary.look.cpuUsPerRequest;
  const capacity = Math.floor(summary.heartbeat.rps * DEFAULT_HEARTBEAT_INTERVAL_S);
  log('\nmedian of rounds');
  log('call           req/s    p99 ms   server CPU µs/req');
  for (const name of ['challenge', 'look', 'heartbeat', 'floor look', 'express floor']) {
    log(`${name.padEnd(13)} ${String(summary[name].rps).padStart(7)}   ${String(summary[name].p99Ms).padStart(5)}   ${String(summary[name].cpuUsPerRequest).padStart(6)}${summary[name].failed ? `   (${summary[name].failed} failed)` : ''}`);
  }
  log(`\nlook / floor look = ${ratio.toFixed(2)}x in median requests/s (target >= 0.70x) ${ratio >= 0.7 ? 'MET' : 'NOT MET'}`);
  log(`                    ${median(roundRatios).toFixed(2)}x median of the rounds' own ratios (${roundRatios.map((r) => r.toFixed(2)).join(', ')})`);
  log(`                    ${cpuRatio.toFixed(2)}x in server CPU per request (floor µs / look µs)`);
  const lookCpu = summary.look.cpuUsPerRequest;
  const floorCpu = summary['floor look'].cpuUsPerRequest;
  const expressCpu = summary['express floor'].cpuUsPerRequest;
  // /look is served in front of express (src/bootstrap/look-fast-path.ts); the express floor shows what the router would add.
  log(`look CPU ${lookCpu} µs = floor ${floorCpu} + ours (validation, auth errors, ban filter, metrics) ${lookCpu - floorCpu}; express's router alone would add ${expressCpu - floorCpu}`);
  log(`capacity: ${summary.heartbeat.rps} heartbeats/s x ${DEFAULT_HEARTBEAT_INTERVAL_S} s default interval = ~${capacity.toLocaleString('en')} nodes at 100% of one Point process;`);
  log(`          ~${Math.floor(capacity / 2).toLocaleString('en')} nodes leaving half the Point for challenge, reg, look and check`);

  const results = join(REPO, 'bench', 'results');
  mkdirSync(results, { recursive: true });
  const report = {
    when: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model,
    redis: redis.kind, postgres: postgres.kind, nodes: NODES, connections: CONNECTIONS, durationS: DURATION, rounds: ROUNDS,
    summary, lookToFloorRatio: Number(ratio.toFixed(3)), lookToFloorCpuRatio: Number(cpuRatio.toFixed(3)),
    lookToFloorRoundRatios: roundRatios.map((r) => Number(r.toFixed(3))), loadAverageBefore: loadBefore, loadAverageAfter: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number), heartbeatIntervalS: DEFAULT_HEARTBEAT_INTERVAL_S, nodesPerPoint: capacity, redisBytesPerNode: bytesPerNode,
  };
  writeFileSync(join(results, 'point-latest.json'), `${JSON.stringify(report, null, 2)}\n`);
}

async function cleanup() {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const close of cleanups) await close().catch(() => undefined);
}

process.once('SIGINT', () => { void cleanup().then(() => process.exit(130)); });
try {
  await main();
  await cleanup();
} catch (err) {
  process.stderr.write(`bench:point failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await cleanup();
  process.exit(1);
}
