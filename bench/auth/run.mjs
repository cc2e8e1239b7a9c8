#!/usr/bin/env node
/**
 * npm run bench:auth [-- options]
 *
 * What the access checks cost on the hot path (issue 13): GET and PUT of
 * 4 KiB against four gossip-cdn nodes of this build, measured interleaved in
 * one run: plain (no key, plain HTTP), auth (--auth-public-key and a Bearer
 * token on every request, --private-reads so GETs are checked too), tls
 * (HTTPS) and auth+tls. Medians of the repeats, ratios to plain, the load
 * average at start and end, and each server's CPU per request.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';
import process from 'node:process';
import { HOST, cleanupAll, cpuSeconds, freePort, installCleanupHandlers, makeTempDir, spawnTracked, stopChild, syncDisks, waitFor } from '../http/lib/procs.mjs';
import { runAutocannon } from '../http/lib/load.mjs';
import { httpRequest, closeClientAgent } from '../http/lib/http-client.mjs';
import { median } from '../http/lib/report.mjs';
import { wholeNumbers } from '../lib/options.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const CLI = join(REPO, 'dist', 'cli.js');
const KiB = 1024;

const USAGE = `usage: npm run bench:auth -- [options]

  --duration S     seconds per measurement (default 5)
  --repeats N      measurements per node and scenario; the median is reported (default 3)
  --warmup S       unrecorded warm-up per node and scenario (default 1)
  --conns N        connections (default 32)
  --blobs N        preloaded 4 KiB blobs for GET (default 100)
  --no-save        print only; write no JSON file
  -h, --help       this text
`;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    repeats: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    conns: { type: 'string', default: '32' },
    blobs: { type: 'string', default: '100' },
    'no-save': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const int = wholeNumbers(values, USAGE);
const opts = {
  durationS: int('duration', 1, 120), repeats: int('repeats', 1, 15), warmupS: int('warmup', 0, 30),
  conns: int('conns', 1, 1024), blobs: int('blobs', 1, 10_000), save: !values['no-save'],
};
/**
 * One load generator speaks from one address, far over the default per-address limit (README
 * "Rate limits"): every node runs with a limit no run reaches, so the limiter still checks each
 * request but never refuses one.
 */
const RATE_ARGS = ['--rate-limit', '10000000', '--rate-burst', '10000000'];
const log = (m = '') => process.stdout.write(`${m}\n`);
const load = () => os.loadavg().map((n) => n.toFixed(2)).join(' ');

function cli(args) {
  return execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 }).trim();
}

/** A throwaway CA and a certificate for HOST, made with the openssl CLI. */
function makeCerts(dir) {
  const ssl = (args) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '1', '-subj', '/CN=bench CA']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'node.key'), '-out', join(dir, 'node.csr'), '-subj', `/CN=${HOST}`]);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=IP:${HOST}\n`);
  ssl(['x509', '-req', '-in', join(dir, 'node.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'node.pem'), '-days', '1', '-extfile', join(dir, 'ext.cnf')]);
  return { cert: join(dir, 'node.pem'), key: join(dir, 'node.key'), ca: join(dir, 'ca.pem') };
}

/** The admin key pair and an admin-scope token, through the CLI as a user would make them. */
function makeAuth(dir) {
  const printed = cli(['auth', 'init', '--dir', dir]);
  const publicKey = printed.match(/[A-Za-z0-9_-]{43}/)?.[0];
  if (publicKey === undefined) throw new Error(`auth init printed no public key:\n${printed}`);
  const keyFile = readdirSync(dir).map((f) => join(dir, f)).find((f) => readFileSync(f, 'utf8').includes('PRIVATE KEY'));
  if (keyFile === undefined) throw new Error(`auth init left no private key in ${dir}`);
  const token = cli(['auth', 'token', '--admin-key', keyFile, '--scope', 'admin', '--ttl', '1h']).split('\n').pop().trim();
  return { publicKey, token };
}

let httpsAgent;
function call(node, method, path, body) {
  const headers = { ...node.headers, ...(body === undefined ? {} : { 'content-type': 'application/octet-stream', 'content-length': body.length }) };
  if (!node.tls) return httpRequest(node.port, method, path, { body, headers });
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest({ host: HOST, port: node.port, method, path, headers, agent: httpsAgent, timeout: 30_000 }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.once('end', () => resolvePromise({ status: res.statusCode, body: Buffer.concat(parts) }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function startNode(name, dir, args, tls, headers) {
  const port = await freePort();
  const child = spawnTracked(name, process.execPath, [CLI, 'node', '--port', String(port), '--host', HOST, '--data-dir', join(dir, name), '--log-level', 'warn', '--alone', ...RATE_ARGS, ...args]);
  const node = { name, port, child, tls, headers };
  await waitFor(`${name} to be ready`, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited (code ${child.exitCode}):\n${child.output.text}`);
    return (await call(node, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200;
  }, { attempts: 200, intervalMs: 100 });
  return node;
}

async function measure(node, sc, durationS) {
  const cpuBefore = cpuSeconds(node.child.pid);
  const m = await runAutocannon({
    url: `${node.tls ? 'https' : 'http'}://${HOST}:${node.port}/`, mode: sc.kind, paths: node.paths, size: 4 * KiB,
    connections: opts.conns, durationS, headers: node.headers,
  });
  const cpu = cpuSeconds(node.child.pid) - cpuBefore;
  return { rps: m.requests / m.seconds, p99Ms: m.p99Ms, errors: m.errors, cpuUsPerReq: m.requests > 0 ? (cpu * 1e6) / m.requests : NaN };
}

installCleanupHandlers();
const loadAtStart = load();
const started = new Date().toISOString();
const dir = makeTempDir('gossip-cdn-bench-auth-');
try {
  const certs = makeCerts(dir);
  mkdirSync(join(dir, 'keys'));
  const auth = makeAuth(join(dir, 'keys'));
  httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8, ca: readFileSync(certs.ca) });
  const tlsArgs = ['--tls-cert', certs.cert, '--tls-key', certs.key, '--tls-ca', certs.ca];
  const authArgs = ['--auth-public-key', auth.publicKey, '--private-reads'];
  const bearer = { authorization: `Bearer ${auth.token}` };
  const nodes = [
    await startNode('plain', dir, [], false, {}),
    await startNode('auth', dir, authArgs, false, bearer),
    await startNode('tls', dir, tlsArgs, true, {}),
    await startNode('auth+tls', dir, [...authArgs, ...tlsArgs], true, bearer),
  ];
  for (const node of nodes) {
    node.paths = [];
    for (let i = 0; i < opts.blobs; i++) {
      const path = `/blobs/${randomUUID()}`;
      const answer = await call(node, 'PUT', path, randomBytes(4 * KiB));
      if (answer.status !== 201) throw new Error(`${node.name}: preload PUT answered ${answer.status} ${answer.body}`);
      node.paths.push(path);
    }
    // the checks must refuse what they should, or the numbers measure nothing
    if (node.headers.authorization !== undefined) {
      const bare = await call({ ...node, headers: {} }, 'GET', node.paths[0]);
      if (bare.status !== 401) throw new Error(`${node.name}: a GET without a token answered ${bare.status}, not 401`);
    }
  }
  log(`gossip-cdn access-check cost: ${opts.repeats} x ${opts.durationS} s per node and scenario, ${opts.conns} connections, autocannon, nodes with ${RATE_ARGS.join(' ')}; load average at start ${loadAtStart}`);
  const scenarios = [{ id: 'get-4k', name: 'GET 4 KiB', kind: 'get' }, { id: 'put-4k', name: 'PUT 4 KiB', kind: 'put' }];
  const results = {};
  for (const sc of scenarios) {
    log(`\n== ${sc.name}`);
    const samples = Object.fromEntries(nodes.map((n) => [n.name, []]));
    for (const node of nodes) if (opts.warmupS > 0) await measure(node, sc, opts.warmupS);
    for (let r = 0; r < opts.repeats; r++) {
      for (const node of nodes) {
        if (sc.kind === 'put') syncDisks();
        const m = await measure(node, sc, opts.durationS);
        samples[node.name].push(m);
        const errs = m.errors.connect + m.errors.read + m.errors.write + m.errors.status + m.errors.timeout;
        log(`   run ${r + 1}  ${node.name.padEnd(9)} ${m.rps.toFixed(0).padStart(7)} req/s  p99 ${m.p99Ms.toFixed(2).padStart(7)} ms  server CPU ${m.cpuUsPerReq.toFixed(0).padStart(5)} us/req${errs ? `  ${errs} errors ${JSON.stringify(m.errors)}` : ''}  (load ${load()})`);
      }
    }
    const med = Object.fromEntries(nodes.map((n) => [n.name, {
      rps: median(samples[n.name].map((m) => m.rps)), cpuUsPerReq: median(samples[n.name].map((m) => m.cpuUsPerReq)),
      errors: samples[n.name].reduce((k, m) => k + m.errors.connect + m.errors.read + m.errors.write + m.errors.status + m.errors.timeout, 0),
    }]));
    results[sc.name] = { samples, median: med };
  }
  log('\n| scenario | node | req/s (median) | vs plain | server CPU µs/req | vs plain | errors |');
  log('|---|---|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    const base = r.median.plain;
    for (const [node, m] of Object.entries(r.median)) {
      log(`| ${name} | ${node} | ${m.rps.toFixed(0)} | ${(m.rps / base.rps).toFixed(2)}x | ${m.cpuUsPerReq.toFixed(0)} | ${(m.cpuUsPerReq / base.cpuUsPerReq).toFixed(2)}x | ${m.errors} |`);
    }
  }
  const failed = Object.entries(results).flatMap(([name, r]) => Object.entries(r.median).filter(([, m]) => m.errors > 0).map(([node, m]) => `${name} ${node}: ${m.errors}`));
  if (failed.length > 0) log(`\nWARNING: non-2xx answers or errors, so those rows measure refusals, not the access checks: ${failed.join('; ')}`);
  const loadAtEnd = load();
  log(`\nload average: ${loadAtStart} at start, ${loadAtEnd} at end${Number(loadAtStart.split(' ')[0]) >= 1 ? ' (measured under load: not for publication)' : ''}`);
  if (opts.save) {
    const out = join(REPO, 'bench', 'results', `auth-${started.replace(/[:.]/g, '-')}.json`);
    const json = `${JSON.stringify({ started, loadAtStart, loadAtEnd, node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, opts, results }, null, 2)}\n`;
    writeFileSync(out, json);
    writeFileSync(join(REPO, 'bench', 'results', 'auth-latest.json'), json);
    log(`saved ${out} and bench/results/auth-latest.json`);
  }
  for (const node of nodes) await stopChild(node.child);
} finally {
  closeClientAgent();
  httpsAgent?.destroy();
  await cleanupAll();
}
