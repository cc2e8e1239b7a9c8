#!/usr/bin/env node
/**
 * npm run bench:http [-- options]
 *
 * GET and PUT of 4 KiB and 1 MiB blobs against a gossip-cdn node (from
 * dist/), a bare node:http server streaming the same files from disk, and
 * nginx (1 worker, sendfile) serving them, all driven by the same load
 * generator (wrk, else autocannon); then the node's peak RSS while one large
 * blob goes up and comes back. See bench/http/README.md.
 */
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';
import process from 'node:process';
import { HOST, cleanupAll, cpuSeconds, installCleanupHandlers, makeTempDir, removeTempDir, sleep, stopChild, syncDisks, which } from './lib/procs.mjs';
import { detectNginx } from './lib/nginx.mjs';
import { runAutocannon, runWrk, writeGetLua, writePutLua } from './lib/load.mjs';
import { closeClientAgent, httpRequest } from './lib/http-client.mjs';
import { preload, putProblem, startBare, startNginxServer, startNode } from './lib/servers.mjs';
import { downloadHashed, readProcStatus, rssSampler, uploadGenerated } from './lib/rss.mjs';
import { MiB, median, ratioRows, ratioTable, rssTable, targetLines, throughputTable } from './lib/report.mjs';
import { wholeNumbers } from '../lib/options.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const RESULTS_DIR = join(REPO, 'bench', 'results');
const KiB = 1024;
/** The node's per-address rate limit for the run (README "Rate limits"): on, far above what one load generator sends. */
const BENCH_RATE_ARGS = ['--rate-limit', '10000000', '--rate-burst', '10000000'];

const USAGE = `usage: npm run bench:http -- [options]

  --only LIST          what to run, comma-separated: get, put, rss, or single
                       scenarios get-4k, get-1m, put-4k, put-1m (default get,put,rss)
  --duration S         seconds per measurement (default 5)
  --repeats N          measurements per server and scenario; the median is reported (default 3)
  --warmup S           unrecorded warm-up per server and scenario (default 1)
  --blobs N            distinct preloaded blobs per size for GET (default 100)
  --conns-small N      connections for 4 KiB scenarios (default 32)
  --conns-large N      connections for 1 MiB scenarios (default 16)
  --threads N          wrk threads (default 2)
  --generator NAME     wrk or autocannon (default: wrk if installed)
  --nginx-auto         also measure GET against nginx with worker_processes auto
  --bare-mem           also measure GET against the bare server sending from RAM
                       (res.end(buffer)): the ceiling of node:http itself
  --compare LABEL=PATH also measure another build of the node (its dist/cli.js),
                       interleaved with this one; may be given more than once
  --rss-size-mb N      size of the blob for the memory test (default 1024)
  --cli PATH           the node's CLI (default dist/cli.js of this checkout)
  --note TEXT          free text stored with the results (e.g. which build --cli points at)
  --no-save            print only; write no JSON file
  -h, --help           this text
`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: 'get,put,rss' },
      duration: { type: 'string', default: '5' },
      repeats: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      blobs: { type: 'string', default: '100' },
      'conns-small': { type: 'string', default: '32' },
      'conns-large': { type: 'string', default: '16' },
      threads: { type: 'string', default: '2' },
      generator: { type: 'string' },
      'nginx-auto': { type: 'boolean', default: false },
      'bare-mem': { type: 'boolean', default: false },
      compare: { type: 'string', multiple: true, default: [] },
      'rss-size-mb': { type: 'string', default: '1024' },
      cli: { type: 'string', default: join(REPO, 'dist', 'cli.js') },
      note: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = wholeNumbers(values, USAGE);
  const known = ['get', 'put', 'rss', 'get-4k', 'get-1m', 'put-4k', 'put-1m'];
  const only = new Set(values.only.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  for (const o of only) {
    if (!known.includes(o)) {
      process.stderr.write(`--only: unknown "${o}" (one of ${known.join(', ')})\n`);
      process.exit(2);
    }
  }
  if (values.generator !== undefined && !['wrk', 'autocannon'].includes(values.generator)) {
    process.stderr.write('--generator must be wrk or autocannon\n');
    process.exit(2);
  }
  return {
    only,
    durationS: int('duration', 1, 120),
    repeats: int('repeats', 1, 15),
    warmupS: int('warmup', 0, 30),
    blobs: int('blobs', 1, 10_000),
    connsSmall: int('conns-small', 1, 1024),
    connsLarge: int('conns-large', 1, 1024),
    threads: int('threads', 1, 64),
    generator: values.generator,
    nginxAuto: values['nginx-auto'],
    bareMem: values['bare-mem'],
    compare: values.compare.map((c) => {
      const eq = c.indexOf('=');
      if (eq <= 0 || !existsSync(resolve(c.slice(eq + 1)))) {
        process.stderr.write(`--compare ${c}: give LABEL=PATH to an existing dist/cli.js\n`);
        process.exit(2);
      }
      return { label: c.slice(0, eq), cli: resolve(c.slice(eq + 1)) };
    }),
    rssSizeMb: int('rss-size-mb', 1, 64 * 1024),
    cli: resolve(values.cli),
    note: values.note,
    save: !values['no-save'],
  };
}

const log = (m = '') => process.stdout.write(`${m}\n`);
const note = (m) => process.stderr.write(`${m}\n`);

const SCENARIOS = [
  { id: 'get-4k', name: 'GET 4 KiB', kind: 'get', size: 4 * KiB },
  { id: 'get-1m', name: 'GET 1 MiB', kind: 'get', size: MiB },
  { id: 'put-4k', name: 'PUT 4 KiB', kind: 'put', size: 4 * KiB },
  { id: 'put-1m', name: 'PUT 1 MiB', kind: 'put', size: MiB },
];

function wanted(opts, sc) {
  return opts.only.has(sc.kind) || opts.only.has(sc.id);
}

function gitDescribe() {
  try {
    const commit = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', timeout: 5000 }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8', timeout: 5000 }).trim() !== '';
    return dirty ? `${commit} (src/ has uncommitted changes)` : commit;
  } catch {
    return 'unknown';
  }
}

function toolVersion(cmd, args) {
  try {
    return execFileSync('sh', ['-c', `"${cmd}" ${args} 2>&1`], { encoding: 'utf8', timeout: 5000 }).split('\n')[0].trim();
  } catch (err) {
    return `${err.stdout ?? ''}`.split('\n')[0].trim() || 'unknown';
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadavgAtStart: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
}

// ---------------------------------------------------------------- measure

async function measure(server, sc, script, durationS) {
  const conns = sc.size <= 64 * KiB ? opts.connsSmall : opts.connsLarge;
  const url = `http://${HOST}:${server.port}/`;
  const died = () => (server.child.exitCode !== null || server.child.signalCode !== null
    ? new Error(`${server.label} exited (code ${server.child.exitCode}, signal ${server.child.signalCode}); its last output:\n${server.child.output.text}`)
    : undefined);
  if (died()) throw died();
  const cpuBefore = cpuSeconds(server.child.pid);
  let m;
  try {
    m = generator.name === 'wrk'
      ? await runWrk({ wrk: generator.bin, url, script, connections: conns, threads: opts.threads, durationS, size: sc.size })
      : await runAutocannon({ url, mode: sc.kind, paths: sc.paths, size: sc.size, connections: conns, durationS });
  } catch (err) {
    await sleep(200);
    throw died() ?? err;
  }
  if (died()) throw died();
  // the server's own CPU (all its threads, and nginx's workers): on a shared machine, CPU per request is steadier than req/s
  const cpu = cpuSeconds(server.child.pid) - cpuBefore;
  m.serverCpuPct = (100 * cpu) / m.seconds;
  m.serverCpuUsPerReq = m.requests > 0 ? (cpu * 1e6) / m.requests : NaN;
  return m;
}

function errorCount(e) {
  return e.connect + e.read + e.write + e.status + e.timeout;
}

async function runScenarios(servers, scenarios, scratch) {
  const out = {};
  for (const sc of scenarios) {
    const targets = servers.filter((s) => (sc.kind === 'get' || !s.getOnly));
    const script = generator.name === 'wrk'
      ? (sc.kind === 'get' ? writeGetLua(scratch, sc.id, sc.paths) : writePutLua(scratch, sc.id, sc.size))
      : undefined;
    const entry = { size: sc.size, servers: {} };
    out[sc.name] = entry;
    for (const s of targets) {
      entry.servers[s.key] = { label: s.label, samples: [] };
      if (sc.kind === 'put' && s.putNa !== undefined) entry.servers[s.key].na = s.putNa;
    }
    const live = targets.filter((s) => entry.servers[s.key].na === undefined);
    log(`\n== ${sc.name}: ${live.map((s) => s.label).join(', ')}; ${opts.repeats} x ${opts.durationS} s each, ${sc.size <= 64 * KiB ? opts.connsSmall : opts.connsLarge} connections`);
    if (opts.warmupS > 0) {
      for (const s of live) {
        if (sc.kind === 'put') syncDisks();
        await measure(s, sc, script, opts.warmupS);
      }
    }
    // servers interleaved within each repeat, so drift in the machine's load hits them all
    for (let r = 0; r < opts.repeats; r++) {
      for (const s of live) {
        if (sc.kind === 'put') syncDisks();
        const m = await measure(s, sc, script, opts.durationS);
        entry.servers[s.key].samples.push(m);
        const errs = errorCount(m.errors);
        log(`   run ${r + 1}  ${s.label.padEnd(24)} ${m.rps.toFixed(0).padStart(7)} req/s ${m.mbps.toFixed(1).padStart(8)} MB/s  p99 ${m.p99Ms.toFixed(2).padStart(7)} ms  server CPU ${m.serverCpuPct.toFixed(0).padStart(3)}% = ${m.serverCpuUsPerReq.toFixed(0).padStart(5)} us/req${errs ? `  ${errs} errors ${JSON.stringify(m.errors)}` : ''}`);
      }
    }
    for (const s of live) {
      const e = entry.servers[s.key];
      e.median = {
        rps: median(e.samples.map((m) => m.rps)),
        mbps: median(e.samples.map((m) => m.mbps)),
        p99Ms: median(e.samples.map((m) => m.p99Ms)),
        serverCpuPct: median(e.samples.map((m) => m.serverCpuPct)),
        serverCpuUsPerReq: median(e.samples.map((m) => m.serverCpuUsPerReq)),
      };
      e.errorCount = e.samples.reduce((n, m) => n + errorCount(m.errors), 0);
    }
  }
  return out;
}

// ---------------------------------------------------------------- memory

async function runRss(sizeMiB) {
  if (!existsSync('/proc/self/status')) return { skipped: 'no /proc on this system' };
  const size = sizeMiB * MiB;
  const dir = makeTempDir('gossip-cdn-bench-rss-');
  // Plain byte counts: the node's size parser reads "2GiB" as 2 bytes (bytes.parse knows GB, not GiB).
  const maxBlob = Math.max(2 * 1024 * MiB, size + MiB);
  const quota = Math.max(4 * 1024 * MiB, 2 * size + 64 * MiB);
  const node = await startNode('gossip-cdn node (rss)', opts.cli, dir, { extraArgs: ['--max-blob-size', String(maxBlob), '--quota', String(quota)] });
  const pid = node.child.pid;
  // one small round trip so the write and read paths are loaded before the baseline
  const warm = `/blobs/${randomUUID()}`;
  await httpRequest(node.port, 'PUT', warm, { body: randomBytes(4 * KiB) });
  await httpRequest(node.port, 'GET', warm);
  await sleep(500);
  const baselineBytes = readProcStatus(pid).rss;
  const sampler = rssSampler(pid, 50);
  const timeoutMs = Math.max(120_000, Math.ceil(size / (5 * MiB)) * 1000);
  const path = `/blobs/${randomUUID()}`;
  log(`\n== RSS: ${sizeMiB} MiB up and down through the node (pid ${pid}); baseline ${(baselineBytes / MiB).toFixed(1)} MiB`);
  let up;
  let down;
  let hwmAfterUpload;
  try {
    sampler.phase('upload');
    up = await uploadGenerated(node.port, path, size, timeoutMs);
    hwmAfterUpload = readProcStatus(pid).hwm;
    if (up.status !== 201 && up.status !== 200) throw new Error(`upload answered ${up.status}: ${up.body.slice(0, 300)}`);
    const stored = JSON.parse(up.body);
    sampler.phase('between');
    await sleep(200);
    sampler.phase('download');
    down = await downloadHashed(node.port, path, timeoutMs);
    sampler.phase('end');
    if (down.status !== 200) throw new Error(`download answered ${down.status}`);
    up.serverSha256 = stored.sha256;
  } finally {
    sampler.stop();
  }
  const hwmBytes = readProcStatus(pid).hwm;
  await stopChild(node.child, { graceMs: 15_000 });
  const peakUploadBytes = Math.max(sampler.peak('upload'), hwmAfterUpload);
  const peakDownloadBytes = sampler.peak('download');
  const growth = Math.max(peakUploadBytes, peakDownloadBytes, hwmBytes) - baselineBytes;
  const result = {
    sizeMiB,
    baselineBytes,
    peakUploadBytes,
    peakDownloadBytes,
    hwmBytes,
    growthMiB: growth / MiB,
    samples: sampler.samples,
    upload: { seconds: up.seconds, mbps: size / up.seconds / 1e6, sha256: up.sha256, serverSha256: up.serverSha256 },
    download: { seconds: down.seconds, mbps: size / down.seconds / 1e6, bytes: down.bytes, sha256: down.sha256 },
    sha256Match: up.sha256 === down.sha256 && up.sha256 === up.serverSha256 && down.bytes === size,
  };
  log(`   upload ${up.seconds.toFixed(1)} s, download ${down.seconds.toFixed(1)} s; peak ${(Math.max(peakUploadBytes, peakDownloadBytes) / MiB).toFixed(1)} MiB; sha256 ${result.sha256Match ? 'matches' : 'DOES NOT MATCH'}`);
  return result;
}

// ---------------------------------------------------------------- main

const opts = parseOptions();
let generator;

async function main() {
  const started = Date.now();
  if (!existsSync(opts.cli)) {
    note(`${opts.cli} not found: build the node first with \`npm run build\` (the benchmark runs the compiled node from dist/).`);
    process.exit(1);
  }
  const scenarios = SCENARIOS.filter((sc) => wanted(opts, sc));
  const wantRss = opts.only.has('rss');

  // load generator
  const wrkBin = which('wrk');
  if (opts.generator === 'wrk' && wrkBin === undefined) {
    note('wrk is not installed. Install it with:  apt-get install -y wrk');
    process.exit(1);
  }
  if (opts.generator === 'autocannon' || wrkBin === undefined) {
    if (wrkBin === undefined) note('wrk is not installed (install it with: apt-get install -y wrk); using autocannon, which runs in Node and competes with the servers for the CPU.');
    generator = { name: 'autocannon', version: JSON.parse(readFileSync(join(REPO, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version };
  } else {
    generator = { name: 'wrk', bin: wrkBin, version: toolVersion(wrkBin, '-v') };
  }

  const nginx = detectNginx();
  if (nginx === undefined && scenarios.length > 0) {
    note('nginx is not installed: nginx skipped (install it with: apt-get install -y nginx-light); measuring the node and the bare node:http baseline only.');
  } else if (nginx !== undefined && !nginx.dav && scenarios.some((s) => s.kind === 'put')) {
    note(`nginx ${nginx.version} has no dav module: PUT for nginx is reported as n/a.`);
  }

  const results = {
    benchmark: 'http',
    date: new Date().toISOString(),
    commit: opts.cli.startsWith(`${REPO}/`) ? gitDescribe() : 'n/a (--cli is outside this checkout)',
    cli: opts.cli.startsWith(`${REPO}/`) ? opts.cli.slice(REPO.length + 1) : opts.cli,
    note: opts.note,
    machine: machine(),
    compare: opts.compare.length > 0 ? opts.compare : undefined,
    generator: { name: generator.name, version: generator.version, threads: generator.name === 'wrk' ? opts.threads : undefined },
    nginx: nginx === undefined ? null : { version: nginx.version, dav: nginx.dav, workers: 1, sendfile: true },
    settings: {
      durationS: opts.durationS, repeats: opts.repeats, warmupS: opts.warmupS, blobsPerSize: opts.blobs,
      connections: { '4 KiB': opts.connsSmall, '1 MiB': opts.connsLarge }, only: [...opts.only],
      mbUnit: 'MB/s = 10^6 bytes of blob bodies per second',
    },
    scenarios: {},
  };
  log(`gossip-cdn HTTP benchmark — ${results.date}, commit ${results.commit}, node from ${results.cli}`);
  if (opts.note !== undefined) log(`note: ${opts.note}`);
  log(`machine: ${results.machine.cpus} x ${results.machine.cpuModel}, node ${process.version}, load average ${results.machine.loadavgAtStart.join(' ')}`);
  log(`load generator: ${generator.name} ${generator.version}${generator.name === 'wrk' ? `, ${opts.threads} threads` : ''}, on the same machine (loopback)`);
  log(`nginx: ${nginx === undefined ? 'not installed (skipped)' : `${nginx.version}, worker_processes 1, sendfile on${nginx.dav ? ', PUT via dav (temp file + rename, no fsync)' : ', no dav module (PUT n/a)'}${opts.nginxAuto ? '; also worker_processes auto for GET' : ''}`}`);
  if (results.machine.loadavgAtStart[0] > 0.5) log(`note: the machine is already busy (1-min load ${results.machine.loadavgAtStart[0]}); absolute numbers will be low and noisy, ratios less so.`);

  if (scenarios.length > 0) {
    const root = makeTempDir('gossip-cdn-bench-http-');
    const scratch = join(root, 'scratch');
    mkdirSync(scratch);
    const servers = [];
    const nodeDir = join(root, 'node');
    mkdirSync(nodeDir);
    // One load generator from one address would hit the default per-address limit (1000 req/s) at once:
    // the limiter stays on (its cost is in the figures) with a rate no run reaches.
    log(`gossip-cdn node runs with ${BENCH_RATE_ARGS.join(' ')}: its rate limiter checked on every request, never refusing`);
    const node = await startNode('gossip-cdn node', opts.cli, nodeDir, { extraArgs: BENCH_RATE_ARGS });
    servers.push({ key: 'node', label: 'gossip-cdn node', viaPut: true, ...node });
    for (const [i, c] of opts.compare.entries()) {
      const dir = join(root, `compare-${i}`);
      mkdirSync(dir);
      const other = await startNode(`node (${c.label})`, c.cli, dir);
      servers.push({ key: `node-${c.label}`, label: `node (${c.label})`, viaPut: true, cli: c.cli, ...other });
    }
    const bareRoot = join(root, 'bare');
    mkdirSync(bareRoot);
    const bare = await startBare(bareRoot);
    servers.push({ key: 'bare', label: 'bare node:http', fileRoot: bareRoot, ...bare });
    if (opts.bareMem && scenarios.some((s) => s.kind === 'get')) {
      // reads the files of the bare server above
      const bareMem = await startBare(bareRoot, { mem: true });
      servers.push({ key: 'bare-mem', label: 'bare node:http (RAM)', getOnly: true, ...bareMem });
    }
    if (nginx !== undefined) {
      const ngRoot = join(root, 'nginx-root');
      mkdirSync(join(ngRoot, 'blobs'), { recursive: true });
      const ngDir = join(root, 'nginx');
      mkdirSync(ngDir);
      const ng = await startNginxServer('nginx', nginx, ngDir, ngRoot, 1);
      servers.push({ key: 'nginx', label: 'nginx (1 worker)', fileRoot: ngRoot, putNa: nginx.dav ? undefined : 'nginx-light without the dav module', ...ng });
      if (opts.nginxAuto && scenarios.some((s) => s.kind === 'get')) {
        // serves the same root as the 1-worker nginx
        const autoDir = join(root, 'nginx-auto');
        mkdirSync(autoDir);
        const nga = await startNginxServer('nginx (auto)', nginx, autoDir, ngRoot, 'auto');
        servers.push({ key: 'nginx-auto', label: `nginx (auto: ${os.cpus().length} workers)`, getOnly: true, ...nga });
      }
    }
    for (const s of servers) {
      if (s.putNa === undefined && scenarios.some((sc) => sc.kind === 'put')) {
        const why = await putProblem(s);
        if (why !== undefined) { s.putNa = why; note(`${s.label}: ${why}; its PUT is reported as n/a`); }
      }
    }
    for (const sc of scenarios.filter((x) => x.kind === 'get')) {
      log(`preloading ${opts.blobs} blobs of ${sc.size / KiB} KiB into every server...`);
      sc.paths = await preload(servers, sc.size, opts.blobs);
    }
    results.scenarios = await runScenarios(servers, scenarios, scratch);
    const t0 = Date.now();
    for (const s of servers) await stopChild(s.child, { graceMs: 10_000 });
    removeTempDir(root);
    log(`(servers stopped and their temp files removed in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  if (wantRss) {
    try {
      results.rss = await runRss(opts.rssSizeMb);
    } catch (err) {
      results.rss = { skipped: `failed: ${err.message}` };
      note(`RSS test failed: ${err.message}`);
    }
  }
  closeClientAgent();
  results.machine.loadavgAtEnd = os.loadavg().map((n) => Number(n.toFixed(2)));
  results.ratios = ratioRows(results);
  const { lines, targets } = targetLines(results);
  results.targets = targets;
  results.elapsedS = Math.round((Date.now() - started) / 1000);

  log('\n## Medians\n');
  if (Object.keys(results.scenarios).length > 0) {
    log(throughputTable(results));
    log('\n## Ratios (req/s; for a fixed body size MB/s gives the same ratio)\n');
    log(ratioTable(results));
  }
  if (results.rss) log(`\n## Memory\n\n${rssTable(results.rss)}`);
  log('\n## Targets\n');
  for (const l of lines) log(l.startsWith(' ') ? l : `- ${l}`);
  log(`\nfinished in ${results.elapsedS} s; load average now ${results.machine.loadavgAtEnd.join(' ')}`);

  if (opts.save) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = results.date.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
    const file = join(RESULTS_DIR, `http-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`results: ${file}`);
    const complete = SCENARIOS.every((sc) => wanted(opts, sc)) && wantRss;
    if (complete) {
      writeFileSync(join(RESULTS_DIR, 'http-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
      log(`and ${join(RESULTS_DIR, 'http-latest.json')}`);
    } else {
      log('(a partial run: bench/results/http-latest.json left as it was)');
    }
  }
}

installCleanupHandlers(note);
// A hard cap on the whole run, far above what the settings need.
const perRun = opts.durationS + 2;
const budgetS = 300 + 5 * 4 * (opts.repeats * perRun + opts.warmupS + 2) + Math.ceil(opts.rssSizeMb / 5);
const watchdog = setTimeout(() => {
  note(`the benchmark ran past its ${budgetS} s cap; stopping everything`);
  void cleanupAll().finally(() => process.exit(1));
}, budgetS * 1000);
watchdog.unref();

main().then(
  async () => {
    const t0 = Date.now();
    await cleanupAll();
    log(`(cleaned up in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    clearTimeout(watchdog);
    process.exit(0);
  },
  async (err) => { note(`benchmark failed: ${err.stack ?? err}`); await cleanupAll(); process.exit(1); },
);
