#!/usr/bin/env node
/**
 * Where does a GET spend its time? Starts a node under `node --cpu-prof`,
 * preloads blobs, drives GETs at it with the benchmark's load generator,
 * stops it gracefully (the profile is written on exit) and prints where the
 * CPU time went: by area (our modules, each npm package, node internals,
 * GC), the top functions by self time, and our functions by inclusive time.
 *
 *   node bench/http/profile.mjs [--method get|put] [--size 4096] [--duration 10] [--connections 32] [--keep DIR]
 *   node bench/http/profile.mjs --summarise FILE.cpuprofile
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import process from 'node:process';
import { HOST, cleanupAll, cpuTimes, installCleanupHandlers, makeTempDir, stopChild, which } from './lib/procs.mjs';
import { runAutocannon, runWrk, writeGetLua, writePutLua } from './lib/load.mjs';
import { closeClientAgent } from './lib/http-client.mjs';
import { preload, startNode } from './lib/servers.mjs';
import { formatSummary, summariseProfile } from './lib/cpuprofile.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');

const { values } = parseArgs({
  options: {
    method: { type: 'string', default: 'get' },
    size: { type: 'string', default: '4096' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    blobs: { type: 'string', default: '100' },
    top: { type: 'string', default: '30' },
    cli: { type: 'string', default: join(REPO, 'dist', 'cli.js') },
    keep: { type: 'string' },
    summarise: { type: 'string' },
  },
});
const log = (m = '') => process.stdout.write(`${m}\n`);
const top = Number(values.top);

if (values.summarise !== undefined) {
  // a profile kept by --keep has the load window beside it; without it, the whole profile counts (start-up too)
  const windowFile = `${values.summarise}.window.json`;
  const window = existsSync(windowFile) ? JSON.parse(readFileSync(windowFile, 'utf8')) : undefined;
  log(formatSummary(summariseProfile(JSON.parse(readFileSync(values.summarise, 'utf8')), { top, window })));
  process.exit(0);
}

async function main() {
  const cli = resolve(values.cli);
  if (!existsSync(cli)) {
    process.stderr.write(`${cli} not found: build the node first with \`npm run build\`.\n`);
    process.exit(1);
  }
  const size = Number(values.size);
  const durationS = Math.min(120, Math.max(1, Number(values.duration)));
  const connections = Number(values.connections);
  const dir = makeTempDir('gossip-cdn-bench-prof-');
  const profDir = join(dir, 'prof');
  mkdirSync(profDir);
  const node = await startNode('gossip-cdn node (profiled)', cli, dir, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  const server = { key: 'node', label: 'gossip-cdn node', viaPut: true, ...node };
  const mode = values.method.toLowerCase() === 'put' ? 'put' : 'get';
  let paths = [];
  if (mode === 'get') {
    log(`preloading ${values.blobs} blobs of ${size} bytes...`);
    paths = await preload([server], size, Number(values.blobs));
  }
  closeClientAgent();
  const wrk = which('wrk');
  const url = `http://${HOST}:${node.port}/`;
  const script = wrk === undefined ? undefined : mode === 'get' ? writeGetLua(dir, 'get', paths) : writePutLua(dir, 'put', size);
  const run = (d) => (wrk !== undefined
    ? runWrk({ wrk, url, script, connections, threads: Number(values.threads), durationS: d, size })
    : runAutocannon({ url, mode, paths, size, connections, durationS: d }));
  log(`${mode.toUpperCase()} ${size} B for ${durationS} s with ${wrk !== undefined ? 'wrk' : 'autocannon'}, ${connections} connections...`);
  await run(1); // warm-up, outside the profiled window
  const cpu0 = cpuTimes(node.child.pid);
  const from = Number(process.hrtime.bigint() / 1000n);
  const m = await run(durationS);
  const to = Number(process.hrtime.bigint() / 1000n);
  const cpu1 = cpuTimes(node.child.pid);
  const secs = (to - from) / 1e6;
  log(`${m.rps.toFixed(0)} req/s, ${m.mbps.toFixed(1)} MB/s, p99 ${m.p99Ms.toFixed(2)} ms (under the profiler, so slower than the benchmark)`);
  log(`node process CPU over the window: user ${(100 * (cpu1.user - cpu0.user) / secs).toFixed(0)}%, system ${(100 * (cpu1.sys - cpu0.sys) / secs).toFixed(0)}% of one core; ${(((cpu1.user - cpu0.user + cpu1.sys - cpu0.sys) * 1e6) / m.requests).toFixed(0)} us CPU per request`);
  await stopChild(node.child, { signal: 'SIGTERM', graceMs: 20_000 });
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`the node wrote no .cpuprofile (output: ${node.child.output.text})`);
  if (values.keep !== undefined) {
    mkdirSync(values.keep, { recursive: true });
    copyFileSync(join(profDir, file), join(values.keep, file));
    writeFileSync(join(values.keep, `${file}.window.json`), JSON.stringify([from, to]));
    log(`profile kept as ${join(values.keep, file)} (open it in Chrome DevTools > Performance, or run with --summarise)`);
  }
  log(formatSummary(summariseProfile(JSON.parse(readFileSync(join(profDir, file), 'utf8')), { top, window: [from, to] })));
}

installCleanupHandlers();
main().then(
  async () => { await cleanupAll(); process.exit(0); },
  async (err) => { process.stderr.write(`profile failed: ${err.stack ?? err}\n`); await cleanupAll(); process.exit(1); },
);
