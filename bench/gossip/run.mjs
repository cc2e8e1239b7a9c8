#!/usr/bin/env node
/**
 * Replication benchmark on real processes (issue 4): an embedded Point and N
 * node processes on their own loopback addresses, gossip profile local-test.
 *
 *  1. propagation: time from a PUT's acknowledgement until every node holds
 *     the version and its body, for N = 3, 5, 10 (median of repeats), in
 *     seconds and in gossip rounds (round = the profile's probe interval);
 *  2. wire bytes: node-to-node bytes to replicate one 1 MiB blob to N nodes
 *     (gossip message bytes + body bytes served, idle traffic subtracted),
 *     against the ideal (N-1) x 1 MiB. Target: at most 1.1x.
 *
 * Usage: npm run build && node bench/gossip/run.mjs [--sizes 3,5,10] [--repeats 5]
 * Writes bench/results/gossip-latest.json. Every process it starts is stopped.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { randomUUID, randomBytes } from 'node:crypto';
import process from 'node:process';
import { fetch } from 'undici';
import { performance } from 'node:perf_hooks';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
if (!existsSync(cli)) {
  console.error('dist/cli.js is missing: run `npm run build` first');
  process.exit(1);
}
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const sizes = opt('sizes', '3,5,10').split(',').map(Number);
const repeats = Number(opt('repeats', '5'));
// One gossip round = the SWIM protocol period of the profile the nodes run.
const { MEMBERSHIP_OPTIONS } = await import(join(root, 'dist/gossip/core/membership-config.js'));
const ROUND_MS = MEMBERSHIP_OPTIONS.profiles.localTest.probeIntervalMs;
const MiB = 1024 * 1024;

const children = new Set();
const dirs = [];
function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.on('SIGINT', () => { cleanup(); process.exit(130); });
process.on('exit', cleanup);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, host, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}
async function until(probe, what, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try { if (await probe()) return; } catch { /* not yet */ }
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}
function start(argv) {
  const child = spawn(process.execPath, [cli, ...argv], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn' } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
const json = async (url) => (await fetch(url)).json();

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}
async function wireBytes(nodes) {
  let total = 0;
  for (const n of nodes) total += (await metric(n.url, 'cdn_gossip_bytes_sent_total')) + (await metric(n.url, 'cdn_gossip_body_bytes_total{direction="served"}'));
  return total;
}

async function cluster(n) {
  const dir = mkdtempSync(join(tmpdir(), 'gcdn-bench-'));
  dirs.push(dir);
  const pointPort = await freePort('127.0.0.1');
  const point = start(['bootstrap', '--host', '127.0.0.1', '--port', String(pointPort), '--data-dir', join(dir, 'point'), '--heartbeat-ttl', '3']);
  const pointUrl = `http://127.0.0.1:${pointPort}`;
  await until(async () => (await fetch(`${pointUrl}/healthz`)).ok, 'the Point');
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const host = `127.0.1.${10 + i}`;
    const port = await freePort(host);
    const proc = start(['node', '--host', host, '--port', String(port), '--data-dir', join(dir, `n${i}`), '--bootstrap', pointUrl, '--gossip-profile', 'local-test']);
    nodes.push({ url: `http://${host}:${port}`, proc });
  }
  for (const node of nodes) await until(async () => (await fetch(`${node.url}/healthz`)).ok, node.url);
  await until(async () => {
    for (const node of nodes) {
      const view = await json(`${node.url}/cluster`);
      if (view.peers.filter((p) => p.state === 'alive').length < n - 1) return false;
    }
    return true;
  }, `${n} nodes to see each other`, 60_000);
  return { nodes, stop: () => { for (const x of [point, ...nodes.map((q) => q.proc)]) x.kill('SIGTERM'); } };
}

async function heldEverywhere(nodes, key) {
  for (const node of nodes) {
    const r = await fetch(`${node.url}/blobs/${key}/versions`);
    if (r.status !== 200) return false;
    const v = await r.json();
    if (!v.winner.bodyHeld) return false;
  }
  return true;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const n of sizes) {
  const c = await cluster(n);
  const times = [];
  for (let r = 0; r < repeats; r++) {
    const key = randomUUID();
    const res = await fetch(`${c.nodes[r % n].url}/blobs/${key}`, { method: 'PUT', body: `propagate ${r}` });
    const acked = performance.now();
    if (res.status !== 201) throw new Error(`PUT answered ${res.status}`);
    await until(() => heldEverywhere(c.nodes, key), 'the write to reach every node');
    times.push((performance.now() - acked) / 1000);
  }
  // Wire bytes for one 1 MiB blob, with the idle traffic of an equal quiet period subtracted.
  const quiet0 = await wireBytes(c.nodes);
  const t0 = performance.now();
  await sleep(2000);
  const idlePerMs = ((await wireBytes(c.nodes)) - quiet0) / (performance.now() - t0);
  const before = await wireBytes(c.nodes);
  const start1 = performance.now();
  const key = randomUUID();
  await fetch(`${c.nodes[0].url}/blobs/${key}`, { method: 'PUT', body: randomBytes(MiB) });
  await until(() => heldEverywhere(c.nodes, key), 'the 1 MiB blob to reach every node', 60_000);
  await sleep(500); // let the last rumors settle
  const elapsed = performance.now() - start1;
  const bytes = (await wireBytes(c.nodes)) - before - idlePerMs * elapsed;
  const ideal = (n - 1) * MiB;
  c.stop();
  const row = {
    nodes: n,
    propagationSecondsMedian: Number(median(times).toFixed(3)),
    propagationRoundsMedian: Number((median(times) * 1000 / ROUND_MS).toFixed(2)),
    propagationSecondsAll: times.map((t) => Number(t.toFixed(3))),
    replicate1MiBBytes: Math.round(bytes),
    idealBytes: ideal,
    ratioToIdeal: Number((bytes / ideal).toFixed(3)),
  };
  results.push(row);
  console.log(JSON.stringify(row));
  await sleep(1000);
}

console.log(`\n| nodes | write on all nodes, median s | in rounds (${ROUND_MS} ms) | bytes to replicate 1 MiB | ideal (N-1) MiB | ratio |`);
console.log('|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.nodes} | ${r.propagationSecondsMedian} | ${r.propagationRoundsMedian} | ${r.replicate1MiBBytes} | ${r.idealBytes} | ${r.ratioToIdeal} |`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/gossip-latest.json'), JSON.stringify({ date: new Date().toISOString(), profile: 'local-test', roundMs: ROUND_MS, results }, null, 2));
cleanup();
process.exit(0);
