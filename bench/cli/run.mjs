#!/usr/bin/env node
/**
 * npm run bench:cli [-- --runs N]
 *
 * How long the `gossip-cdn` command takes to start, against bare `node -e 0`
 * measured in the same run (issue 11's target: `--version` and `get` within
 * 2x). `get` asks a loopback port where nothing listens, so what is timed is
 * the whole start-up of the subcommand and its first request, not a
 * transfer. Each command runs N times, interleaved so that a burst of load
 * hits all of them alike; medians are reported with the load average at
 * start and end. Results: bench/results/cli-latest.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';
import process from 'node:process';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO, 'dist', 'cli.js');
if (!existsSync(CLI)) {
  console.error('dist/cli.js is missing: run `npm run build` first');
  process.exit(1);
}
const { values } = parseArgs({ options: { runs: { type: 'string', default: '21' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
  console.error('--runs must be a whole number from 1 to 1000');
  process.exit(1);
}

/** A loopback port with nothing listening on it (taken, then released). */
const closedPort = await new Promise((done, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => done(port));
  });
});

const commands = {
  'node -e 0': ['-e', '0'],
  'gossip-cdn --version': [CLI, '--version'],
  'gossip-cdn get (nothing listening)': [CLI, 'get', '00000000-0000-4000-8000-000000000000', '--node', `http://127.0.0.1:${closedPort}`],
  'gossip-cdn --help': [CLI, '--help'],
};

function timeOnce(args) {
  const started = process.hrtime.bigint();
  spawnSync(process.execPath, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const loadStart = os.loadavg();
const samples = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
for (const args of Object.values(commands)) timeOnce(args); // warm the file cache
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(commands)) samples[name].push(timeOnce(args));
}
const loadEnd = os.loadavg();

const base = median(samples['node -e 0']);
const rows = Object.entries(samples).map(([name, xs]) => ({ command: name, medianMs: Math.round(median(xs) * 10) / 10, ratio: Math.round((median(xs) / base) * 100) / 100 }));
const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`CLI start-up, median of ${runs} runs (node ${process.version}, load average ${load(loadStart)} -> ${load(loadEnd)})`);
console.log('| command | median | vs node -e 0 |');
console.log('|---|---|---|');
for (const r of rows) console.log(`| \`${r.command}\` | ${r.medianMs} ms | ${r.ratio.toFixed(2)}x |`);

let commit = 'unknown';
try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
const out = join(REPO, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'cli-latest.json'), `${JSON.stringify({ when: new Date().toISOString(), commit, node: process.version, runs, loadStart, loadEnd, rows }, null, 2)}\n`);
