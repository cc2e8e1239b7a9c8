#!/usr/bin/env node
/**
 * Simulator benchmarks (issue 5): the real protocol core on simulated nodes,
 * production timing, every figure next to the theory it is judged against.
 *
 *  1. convergence vs N (10, 100, 1,000 by default): the standard scenario of
 *     `npm run sim` (boot, one write, a half/half partition healed), with a
 *     30-round partition (--partition-rounds) so the halves declare each other dead:
 *     rounds until membership is complete, until one write is everywhere (and
 *     its rumor hops), until the healed partition agrees; messages and bytes
 *     per node per round. Bounds: 3·log2 N (the issue's target), push
 *     log2 N + ln N, push-pull log3 N + ln ln N.
 *  2. idle anti-entropy bytes per node per round vs keys (1k, 10k, 100k), 5
 *     nodes holding identical stores. Target < 2 KB; theory: constant.
 *  3. repair bytes vs differences (1, 10, 100, 1,000 among 100k keys), two
 *     nodes. Target: 100 differences ≤ 64 KB; floor: the differing versions'
 *     own JSON.
 *  4. failure detection under 10% loss (100 nodes, 300 rounds), with and
 *     without Lifeguard, and with 5 overloaded nodes: false suspicions and
 *     deaths against SWIM's per-probe failure bound.
 *
 * Usage: npm run build && npm run bench:sim -- [--sizes 10,100,1000] [--seeds 3] [--partition-rounds 30]
 *        [--keys 1000,10000,100000] [--diffs 1,10,100,1000] [--only convergence,idle,repair,detection]
 * Writes bench/results/sim-latest.json and bench/results/sim-rounds-vs-n.svg,
 * and rewrites the results section of bench/sim/README.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';

const root = new URL('../../', import.meta.url).pathname;
const dist = join(root, 'dist-tools/tools/sim');
if (!existsSync(join(dist, 'bench-scenarios.js'))) {
  console.error('dist-tools/tools/sim is missing: run `npm run build` first');
  process.exit(1);
}
const { runStandardScenario } = await import(join(dist, 'scenarios.js'));
const { idleAntiEntropy, repairCost, detectionUnderLoss, bootRounds } = await import(join(dist, 'bench-scenarios.js'));
const { roundBounds } = await import(join(dist, 'metrics.js'));
const { lineChart } = await import(join(dist, 'svg-chart.js'));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const list = (name, fallback) => opt(name, fallback).split(',').map(Number);
const sizes = list('sizes', '10,100,1000');
const seeds = Number(opt('seeds', '3'));
const keyCounts = list('keys', '1000,10000,100000');
const diffs = list('diffs', '1,10,100,1000');
const partitionRounds = Number(opt('partition-rounds', '30'));
const only = new Set(opt('only', 'convergence,idle,repair,detection').split(','));
const log = (line) => process.stderr.write(`bench:sim: ${line}\n`);
const clock = () => performance.now();
const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return s.length === 0 ? null : s[Math.floor((s.length - 1) / 2)];
};
const max = (xs) => (xs.some((x) => x === null) ? null : Math.max(...xs));
const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10);
const kb = (b) => `${(b / 1024).toFixed(1)} KB`;

const results = { startedAt: new Date().toISOString(), cpus: cpus().length, loadavg: loadavg().map(r1), convergence: [], idle: [], repair: [], detection: [] };

if (only.has('convergence')) {
  for (const nodes of sizes) {
    const runs = [];
    const n = nodes >= 1000 ? 1 : seeds;
    for (let seed = 1; seed <= n; seed++) {
      const t = clock();
      const r = await runStandardScenario({ nodes, seed, keys: 100, partitionRounds });
      runs.push({ ...r, wallMs: Math.round(clock() - t) });
      log(`convergence N=${nodes} seed=${seed}: membership ${r.membershipRounds}, write ${r.writeRounds} (${r.writeHops} hops), heal ${r.partitionHealRounds} rounds, ${Math.round(clock() - t)} ms`);
    }
    // membership when the Point hands each node only 3 peers (a random 3-out graph is connected;
    // with 1 it splits into islands that only the Point's next look, 30 s later, joins)
    const join = await bootRounds(nodes, { lookCount: 3, seed: 1 });
    const b = roundBounds(nodes);
    results.convergence.push({
      nodes,
      partitionRounds,
      seeds: runs.map((r) => r.seed),
      membershipRounds: median(runs.map((r) => r.membershipRounds)),
      membershipRoundsMax: max(runs.map((r) => r.membershipRounds)),
      writeRounds: median(runs.map((r) => r.writeRounds)),
      writeHops: median(runs.map((r) => r.writeHops)),
      writeHopsMax: max(runs.map((r) => r.writeHops)),
      writeRumorShare: median(runs.map((r) => r.writeRumorShare)),
      bodyRounds: median(runs.map((r) => r.bodyRounds)),
      partitionHealRounds: median(runs.map((r) => r.partitionHealRounds)),
      partitionHealRoundsMax: max(runs.map((r) => r.partitionHealRounds)),
      messages: median(runs.map((r) => r.messages)),
      bytes: median(runs.map((r) => r.bytes)),
      traffic: runs[0]?.traffic,
      converged: runs.every((r) => r.converged),
      bounds: { target: r1(b.target), push: r1(b.push), pushPull: r1(b.pushPull) },
      wallMs: median(runs.map((r) => r.wallMs)),
      joinFromFewRounds: join.membershipRounds,
    });
    log(`convergence N=${nodes}: membership from 3 peers each: ${results.convergence.at(-1).joinFromFewRounds} rounds`);
  }
}

if (only.has('idle')) {
  for (const keys of keyCounts) {
    const r = await idleAntiEntropy(keys, { stopwatch: clock });
    log(`idle anti-entropy, ${keys} keys: ${r.aeBytes} B/node/round`);
    results.idle.push(r);
  }
}

if (only.has('repair')) {
  const keys = Math.max(...keyCounts);
  for (const kind of ['updated', 'missing']) {
    for (const d of diffs) {
      const r = await repairCost(keys, d, { kind });
      log(`repair ${d} ${kind} keys among ${keys}: ${kb(r.bytes)} in ${r.rounds} rounds`);
      results.repair.push(r);
    }
  }
}

if (only.has('detection')) {
  for (const [lifeguard, slowNodes] of [[true, 0], [false, 0], [true, 5], [false, 5]]) {
    const r = await detectionUnderLoss({ nodes: 100, loss: 0.1, rounds: 300, lifeguard, slowNodes });
    log(`detection, 10% loss, lifeguard ${lifeguard}, ${slowNodes} slow: ${r.falseSuspicions} false suspicions, ${r.falseDeaths} false deaths`);
    results.detection.push(r);
  }
}

const out = join(root, 'bench/results');
mkdirSync(out, { recursive: true });
const previous = existsSync(join(out, 'sim-latest.json')) ? JSON.parse(readFileSync(join(out, 'sim-latest.json'), 'utf8')) : {};
// sections not run this time keep their last results
for (const section of ['convergence', 'idle', 'repair', 'detection']) {
  if (!only.has(section) && Array.isArray(previous[section])) results[section] = previous[section];
}
writeFileSync(join(out, 'sim-latest.json'), `${JSON.stringify(results, null, 2)}\n`);

// ---- chart: rounds vs N --------------------------------------------------------
const conv = results.convergence.filter((c) => c.membershipRounds !== null);
if (conv.length > 0) {
  const ns = conv.map((c) => c.nodes);
  const curve = (f) => {
    const lo = Math.min(...ns);
    const hi = Math.max(...ns);
    const pts = [];
    for (let i = 0; i <= 24; i++) {
      const n = lo * (hi / lo) ** (i / 24);
      pts.push([n, f(roundBounds(n))]);
    }
    return pts;
  };
  const svg = lineChart({
    title: 'Rounds to converge vs cluster size (simulated, production timing)',
    xLabel: 'nodes (log scale)',
    yLabel: 'rounds (1 round = 1 s anti-entropy / probe interval)',
    xLog: true,
    series: [
      { name: 'membership (16 peers from the Point)', color: '#1f77b4', points: conv.map((c) => [c.nodes, c.membershipRounds]) },
      { name: 'membership (3 peers from the Point)', color: '#17becf', points: conv.filter((c) => c.joinFromFewRounds != null).map((c) => [c.nodes, c.joinFromFewRounds]) },
      { name: 'write: rumor hops', color: '#2ca02c', points: conv.map((c) => [c.nodes, c.writeHops]) },
      { name: 'write: rounds (time)', color: '#98df8a', points: conv.map((c) => [c.nodes, c.writeRounds]) },
      { name: 'partition heal', color: '#d62728', points: conv.filter((c) => c.partitionHealRounds !== null).map((c) => [c.nodes, c.partitionHealRounds]) },
      { name: 'target 3·log2 N', color: '#555', dashed: true, points: curve((b) => b.target) },
      { name: 'push log2 N + ln N', color: '#ff7f0e', dashed: true, points: curve((b) => b.push) },
      { name: 'push-pull log3 N', color: '#9467bd', dashed: true, points: curve((b) => b.pushPull) },
    ],
  });
  writeFileSync(join(out, 'sim-rounds-vs-n.svg'), svg);
}

// ---- README tables ---------------------------------------------------------------
const row = (cells) => `| ${cells.join(' | ')} |`;
const tables = [];
tables.push(`Measured ${results.startedAt} on ${results.cpus} CPUs (load average ${results.loadavg.join(' / ')}).`, '');
if (results.convergence.length > 0) {
  const pr = results.convergence[0]?.partitionRounds ?? 30;
  tables.push(`**Convergence vs N** (the standard scenario with a ${pr}-round partition, long enough for the halves to declare each other dead at every N; production timing, LAN latency; median of the seeds, worst in brackets)`, '');
  tables.push(row(['N', 'membership rounds (16 / 3 peers from the Point)', 'write: rounds (hops)', 'rumor share', 'partition heal rounds', '3·log2 N', 'push log2 N+ln N', 'push-pull log3 N', 'msgs / node / round', 'bytes / node / round', 'wall s']));
  tables.push(row(Array(11).fill('---')));
  for (const c of results.convergence) {
    tables.push(row([
      c.nodes.toLocaleString('en-US'), `${c.membershipRounds} (${c.membershipRoundsMax}) / ${c.joinFromFewRounds ?? '–'}`, `${c.writeRounds} (${c.writeHops}, max ${c.writeHopsMax})`,
      `${Math.round(c.writeRumorShare * 100)}%`, `${c.partitionHealRounds} (${c.partitionHealRoundsMax})`, c.bounds.target, c.bounds.push, c.bounds.pushPull,
      c.messages, kb(c.bytes), (c.wallMs / 1000).toFixed(1),
    ]));
  }
  tables.push('', '![rounds vs N](../results/sim-rounds-vs-n.svg)', '');
}
if (results.idle.length > 0) {
  tables.push('**Idle anti-entropy vs keys** (5 nodes, identical stores, 20 rounds; target < 2 KB/node/round, theory: constant)', '');
  tables.push(row(['keys', 'AE bytes / node / round', 'AE messages / node / round', 'other (probes, membership) bytes / node / round']));
  tables.push(row(Array(4).fill('---')));
  for (const r of results.idle) tables.push(row([r.keys.toLocaleString('en-US'), r.aeBytes, r.aeMessages, r.otherBytes]));
  tables.push('');
}
if (results.repair.length > 0) {
  tables.push('**Repair bytes vs differences** (two nodes, anti-entropy only, half the differences on each side: *updated* = both hold the key, one a newer version; *missing* = one lacks the key. Target: 100 among 100k ≤ 64 KB)', '');
  tables.push(row(['keys', 'differences', 'kind', 'bytes on the wire', 'floor: the versions themselves', 'ratio', 'ae-nodes', 'ae-keys', 'ae-want', 'versions', 'messages', 'rounds']));
  tables.push(row(Array(12).fill('---')));
  for (const r of results.repair) {
    const t = r.bytesByType ?? {};
    tables.push(row([
      r.keys.toLocaleString('en-US'), r.differences, r.kind, kb(r.bytes), kb(r.payloadBytes), (r.bytes / r.payloadBytes).toFixed(2),
      kb(t['ae-nodes'] ?? 0), kb(t['ae-keys'] ?? 0), kb(t['ae-want'] ?? 0), kb(t.versions ?? 0), r.messages, r.rounds,
    ]));
  }
  tables.push('');
}
if (results.detection.length > 0) {
  tables.push('**Failure detection under 10% loss** (100 healthy nodes, 300 rounds; every suspicion is false)', '');
  tables.push(row(['Lifeguard', 'slow nodes', 'probes', 'failed probes', 'bound × probes', 'false suspicions', 'false deaths', 'false deaths / node / 1k rounds']));
  tables.push(row(Array(8).fill('---')));
  for (const r of results.detection) {
    tables.push(row([r.lifeguard ? 'on' : 'off', r.slowNodes, r.probes, r.failedProbes, (r.probeFailureBound * r.probes).toFixed(1), r.falseSuspicions, r.falseDeaths, r.falseDeathRate]));
  }
  tables.push('');
}
const readmePath = join(root, 'bench/sim/README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- results:start -->';
const end = '<!-- results:end -->';
const a = readme.indexOf(start);
const b = readme.indexOf(end);
if (a >= 0 && b > a) writeFileSync(readmePath, `${readme.slice(0, a + start.length)}\n${tables.join('\n')}\n${readme.slice(b)}`);
log(`wrote bench/results/sim-latest.json, bench/results/sim-rounds-vs-n.svg and the tables in bench/sim/README.md`);
