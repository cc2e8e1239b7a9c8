#!/usr/bin/env node
/**
 * npm run bench:sim:placement [-- options]
 *
 * Placement benchmarks on the product's own code (proposal 0010), next to
 * their baselines in the same run:
 *
 *  1. pure placement (src/gossip/core/placement.ts `Placement`, nothing
 *     else): N = 1,000 members, R = 3, 100k keys (and 1M with --big-keys),
 *     without zones and with 3 zones:
 *     - owned keys and bytes per node, max / mean (target ≤ 1.15), beside a
 *       random assignment of the same keys (R distinct random nodes per key,
 *       one per zone with zones): the balls-into-bins floor any rule computed
 *       from the member list alone lives with, ≈ 1 + 3.2/√(R·K/N);
 *     - share of keys whose owners change when one node joins (ideal
 *       R/(N+1), target ≤ 1.5x) and when one leaves (ideal R/N);
 *  2. the simulator end to end (virtual nodes running GossipCore with its
 *     custody, production timing, no cache so a displaced copy must go), at
 *     --sim-sizes nodes holding --sim-keys keys placed on their owners, with
 *     --replicas 3 and 'all' side by side:
 *     - rounds until the R owners of a write hold it (every node for 'all');
 *     - rounds until a node that joins holds every body it owns (and until
 *       every body is on exactly its owners again).
 *
 * Keys are random 256-bit hashes and sizes log-uniform from 1 KiB to 1 MiB,
 * from a seeded source (--seed): one seed gives one run.
 *
 * Usage: npm run build && npm run bench:sim:placement -- [--nodes 1000] [--keys 100000] [--big-keys 1000000]
 *        [--trials 5] [--sim-sizes 200,500] [--sim-keys 2000] [--sim-writes 15] [--seed 1] [--only pure,sim]
 * Writes bench/results/placement-sim.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';

const root = new URL('../../', import.meta.url).pathname;
const dist = join(root, 'dist-tools');
if (!existsSync(join(dist, 'tools/sim/placement-metrics.js'))) {
  console.error('dist-tools/ is missing: run `npm run build` first');
  process.exit(1);
}
const { Placement } = await import(join(dist, 'src/gossip/core/placement.js'));
const { PLACEMENT_PROFILES } = await import(join(dist, 'src/gossip/core/placement-config.js'));
const { SeededRandom } = await import(join(dist, 'tools/sim/seeded-random.js'));
const { Simulation } = await import(join(dist, 'tools/sim/simulation.js'));
const { coreOptions, link, simulationConfig } = await import(join(dist, 'tools/sim/profiles.js'));
const { preloadKeys } = await import(join(dist, 'tools/sim/scenarios.js'));
const { membershipComplete } = await import(join(dist, 'tools/sim/metrics.js'));
const { checkPlacement, ownersHold, truePlacement } = await import(join(dist, 'tools/sim/placement-metrics.js'));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const num = (name, fallback) => {
  const n = Number(opt(name, String(fallback)));
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number`);
    process.exit(2);
  }
  return n;
};
const N = num('nodes', 1000);
const R = 3;
const KEYS = num('keys', 100_000);
const BIG_KEYS = num('big-keys', 1_000_000);
const TRIALS = num('trials', 5);
const SIM_SIZES = opt('sim-sizes', '200,500').split(',').map(Number);
const SIM_KEYS = num('sim-keys', 2000);
const SIM_WRITES = num('sim-writes', 15);
const SEED = num('seed', 1);
const only = new Set(opt('only', 'pure,sim').split(','));

const log = (line) => process.stderr.write(`bench:sim:placement: ${line}\n`);
const r2 = (x) => Math.round(x * 100) / 100;
const r3 = (x) => Math.round(x * 1000) / 1000;
const load = () => loadavg().map(r2);
const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---- 1. pure placement ---------------------------------------------------------------------------
const hex = (rng, digits) => {
  let s = '';
  while (s.length < digits) s += Math.floor(rng.next() * 0x1_0000_0000).toString(16).padStart(8, '0');
  return s.slice(0, digits);
};

function makeKeys(k, rng) {
  const shas = new Array(k);
  const sizes = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    shas[i] = hex(rng, 64);
    sizes[i] = Math.round(2 ** (10 + 10 * rng.next())); // log-uniform, 1 KiB to 1 MiB
  }
  return { shas, sizes };
}

function makeMembers(n, zones, rng) {
  return Array.from({ length: n }, (_, i) => ({ id: `n${hex(rng, 16)}`, zone: zones > 1 ? `z${i % zones}` : '' }));
}

/** max / mean, min / mean and the coefficient of variation (sd / mean) of per-node totals */
function spread(totals) {
  let max = -Infinity;
  let min = Infinity;
  let sum = 0;
  let squares = 0;
  for (const t of totals) {
    if (t > max) max = t;
    if (t < min) min = t;
    sum += t;
    squares += t * t;
  }
  const mean = sum / totals.length;
  const sd = Math.sqrt(Math.max(0, squares / totals.length - mean * mean));
  return { maxOverMean: r3(max / mean), minOverMean: r3(min / mean), cv: r3(sd / mean), mean: Math.round(mean) };
}

/** Owners of every key under `members` (member indices into `index`), R per key. */
function ownersOf(members, keys, index) {
  const p = new Placement(R, 1);
  p.setMembers(members);
  const out = new Int32Array(keys.shas.length * R);
  for (let i = 0; i < keys.shas.length; i++) {
    const o = p.owners(keys.shas[i]);
    for (let j = 0; j < R; j++) out[i * R + j] = index.get(o[j]);
  }
  return out;
}

function balance(owners, keys, n) {
  const count = new Float64Array(n);
  const bytes = new Float64Array(n);
  for (let i = 0; i < keys.shas.length; i++) {
    for (let j = 0; j < R; j++) {
      const m = owners[i * R + j];
      count[m] += 1;
      bytes[m] += keys.sizes[i];
    }
  }
  return { keys: spread(count), bytes: spread(bytes) };
}

/** The baseline: each key on R distinct random nodes (with zones: one random node of each of R distinct random zones). */
function randomOwners(members, keys, zones, rng) {
  const byZone = new Map();
  members.forEach((m, i) => byZone.set(m.zone, [...(byZone.get(m.zone) ?? []), i]));
  const zoneList = [...byZone.values()];
  const out = new Int32Array(keys.shas.length * R);
  for (let i = 0; i < keys.shas.length; i++) {
    const picked = [];
    if (zones > 1) {
      const zs = [...zoneList];
      for (let j = 0; j < R; j++) {
        const z = zs.splice(rng.int(zs.length), 1)[0];
        picked.push(z[rng.int(z.length)]);
      }
    } else {
      while (picked.length < R) {
        const m = rng.int(members.length);
        if (!picked.includes(m)) picked.push(m);
      }
    }
    for (let j = 0; j < R; j++) out[i * R + j] = picked[j];
  }
  return out;
}

/** Share of keys whose owner set differs between the two assignments. */
function movedShare(a, b, k) {
  let moved = 0;
  for (let i = 0; i < k; i++) {
    const x = [a[i * R], a[i * R + 1], a[i * R + 2]].sort((p, q) => p - q);
    const y = [b[i * R], b[i * R + 1], b[i * R + 2]].sort((p, q) => p - q);
    if (x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2]) moved++;
  }
  return moved / k;
}

function pureRun(k, zones, trials, seed) {
  const t0 = performance.now();
  const rng = new SeededRandom(seed);
  const members = makeMembers(N, zones, rng.fork());
  const keys = makeKeys(k, rng.fork());
  const index = new Map(members.map((m, i) => [m.id, i]));
  const base = ownersOf(members, keys, index);
  const placed = balance(base, keys, N);
  const random = balance(randomOwners(members, keys, zones, rng.fork()), keys, N);
  const churn = rng.fork();
  const joins = [];
  const leaves = [];
  for (let t = 0; t < trials; t++) {
    // one node joins (in zone t mod zones)
    const joiner = { id: `n${hex(churn, 16)}`, zone: zones > 1 ? `z${t % zones}` : '' };
    const withJoiner = [...members, joiner];
    const idx = new Map(index);
    idx.set(joiner.id, N);
    joins.push(movedShare(base, ownersOf(withJoiner, keys, idx), k));
    // one node leaves
    const gone = churn.int(N);
    leaves.push(movedShare(base, ownersOf(members.filter((_, i) => i !== gone), keys, index), k));
  }
  const joinIdeal = R / (N + 1);
  const leaveIdeal = R / N;
  const row = {
    nodes: N, replicas: R, keys: k, zones, trials,
    keysPerNode: (R * k) / N,
    owned: placed,
    random,
    poissonEstimate: r3(1 + 3.2 / Math.sqrt((R * k) / N)),
    join: { movedShareMedian: median(joins), movedShareMax: Math.max(...joins), ideal: joinIdeal, ratioMedian: r3(median(joins) / joinIdeal), ratioMax: r3(Math.max(...joins) / joinIdeal) },
    leave: { movedShareMedian: median(leaves), movedShareMax: Math.max(...leaves), ideal: leaveIdeal, ratioMedian: r3(median(leaves) / leaveIdeal), ratioMax: r3(Math.max(...leaves) / leaveIdeal) },
    wallS: r2((performance.now() - t0) / 1000),
    loadavg: load(),
  };
  log(`pure: ${k} keys, ${zones > 1 ? `${zones} zones` : 'no zones'}: owned keys max/mean ${placed.keys.maxOverMean} (random ${random.keys.maxOverMean}), bytes ${placed.bytes.maxOverMean} (random ${random.bytes.maxOverMean}); join moves ${row.join.ratioMedian}x ideal, leave ${row.leave.ratioMedian}x; ${row.wallS} s, load ${row.loadavg.join(' / ')}`);
  return row;
}

// ---- 2. the simulator end to end ----------------------------------------------------------------------
async function simRun(nodes, replicas, keys, writes, seed) {
  const t0 = performance.now();
  const placement = { ...PLACEMENT_PROFILES.production, replicas, cacheBytes: 0 };
  const sim = new Simulation(simulationConfig(nodes + 1, seed, { core: { ...coreOptions('production'), placement }, link: link('lan'), wire: 'json' }));
  const rounds = (ms) => (ms === undefined ? null : r2(ms / sim.roundMs));
  preloadKeys(sim, keys, { nodes: sim.nodes.slice(0, nodes), bodies: 'owners' });
  sim.startAll([nodes]);
  const bootRounds = rounds(await sim.runUntil(() => membershipComplete(sim), 300 * sim.roundMs));
  if (bootRounds === null) throw new Error(`${nodes} nodes: membership did not converge in 300 rounds (seed ${seed})`);
  // the preloaded bodies are on their owners already; custody's settle period (settleMs) passes before anything is fetched or dropped
  await sim.runUntil(() => sim.now - sim.t0 >= placement.settleMs + placement.sweepIntervalMs, 300 * sim.roundMs, sim.roundMs);
  const stats = sim.bodies.stats;

  // writes, one at a time, on random running nodes: rounds until the owners hold the body, then until only they do
  const ownersRounds = [];
  const exactRounds = [];
  const transfersPerWrite = [];
  let nonOwnerWrites = 0;
  for (let w = 0; w < writes; w++) {
    const writer = sim.pick(nodes);
    const before = stats.transfers;
    const v = sim.write(writer, undefined, 1024 * 1024);
    const truth = truePlacement(sim);
    const owners = truth.owners(v.sha256).map((id) => sim.byNodeId(id));
    if (!owners.includes(sim.node(writer))) nonOwnerWrites++;
    const held = await sim.runUntil(() => owners.every((o) => o.store.hasBody(v.sha256)), 120 * sim.roundMs);
    ownersRounds.push(rounds(held));
    const exact = await sim.runUntil(() => {
      const c = checkPlacement(sim, truth, [v.sha256]);
      return c.missingCopies === 0 && c.extraCopies === 0;
    }, 120 * sim.roundMs);
    exactRounds.push(exact === undefined || held === undefined ? null : rounds(held + exact));
    transfersPerWrite.push(stats.transfers - before);
  }

  // a node joins: rounds until it holds every body it owns, then until every body is on exactly its owners
  const joiner = sim.node(nodes);
  const beforeJoin = stats.transfers;
  const joinAt = sim.now;
  sim.join(nodes);
  const truthAfter = () => truePlacement(sim);
  const holdsMs = await sim.runUntil(() => ownersHold(sim, joiner, truthAfter()), 600 * sim.roundMs, sim.roundMs);
  const joinHoldRounds = rounds(holdsMs);
  const now = truthAfter();
  const owned = [...new Set(sim.upNodes().flatMap((n) => [...n.store.keys()].flatMap((k) => n.store.siblings(k).filter((v) => !v.tombstone).map((v) => v.sha256))))]
    .filter((sha) => now.isOwner(sha, joiner.id)).length;
  const exactMs = await sim.runUntil(() => {
    const c = checkPlacement(sim, now);
    return c.missingCopies === 0 && c.extraCopies === 0;
  }, 600 * sim.roundMs, sim.roundMs);
  const joinExactRounds = exactMs === undefined ? null : r2((sim.now - joinAt) / sim.roundMs);
  const row = {
    nodes, replicas, keys, seed,
    bootRounds,
    writes,
    nonOwnerWrites,
    writeOwnersRoundsMedian: median(ownersRounds),
    writeOwnersRoundsMax: ownersRounds.includes(null) ? null : Math.max(...ownersRounds),
    writeExactRoundsMedian: median(exactRounds),
    writeTransfersMedian: median(transfersPerWrite),
    joinOwned: owned,
    joinHoldRounds,
    joinExactRounds,
    joinTransfers: stats.transfers - beforeJoin,
    unownedTransfers: stats.unowned,
    settleRounds: placement.settleMs / sim.roundMs,
    sweepRounds: placement.sweepIntervalMs / sim.roundMs,
    wallS: r2((performance.now() - t0) / 1000),
    loadavg: load(),
  };
  log(`sim: ${nodes} nodes, replicas ${replicas}, ${keys} keys: write on owners in ${row.writeOwnersRoundsMedian} rounds (median of ${writes}); a joiner holds its ${owned} bodies after ${joinHoldRounds} rounds, placement exact after ${joinExactRounds}; ${row.wallS} s, load ${row.loadavg.join(' / ')}`);
  return row;
}

// ---- run --------------------------------------------------------------------------------------------------
const out = join(root, 'bench/results');
const file = join(out, 'placement-sim.json');
const previous = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
// each section records when it ran and under what load; a section not run keeps its last results
const section = () => ({ startedAt: new Date().toISOString(), cpus: cpus().length, node: process.version, seed: SEED, loadavg: { start: load() }, rows: [] });
const results = { pure: previous.pure?.rows === undefined ? undefined : previous.pure, sim: previous.sim?.rows === undefined ? undefined : previous.sim };
log(`load average ${load().join(' / ')} at start`);

if (only.has('pure')) {
  const t = performance.now();
  results.pure = section();
  for (const k of [KEYS, ...(BIG_KEYS > 0 ? [BIG_KEYS] : [])]) {
    for (const zones of [1, 3]) results.pure.rows.push(pureRun(k, zones, k > KEYS ? Math.min(TRIALS, 1) : TRIALS, SEED));
  }
  results.pure.loadavg.end = load();
  results.pure.wallS = r2((performance.now() - t) / 1000);
}
if (only.has('sim')) {
  const t = performance.now();
  results.sim = section();
  for (const nodes of SIM_SIZES) {
    for (const replicas of [3, 'all']) results.sim.rows.push(await simRun(nodes, replicas, SIM_KEYS, SIM_WRITES, SEED));
  }
  results.sim.loadavg.end = load();
  results.sim.wallS = r2((performance.now() - t) / 1000);
}

// ---- tables ---------------------------------------------------------------------------------------------------
const row = (cells) => `| ${cells.join(' | ')} |`;
const pct = (x) => `${(x * 100).toFixed(3)}%`;
const lines = [];
const measured = (sec) => `Measured ${sec.startedAt} on ${sec.cpus} CPUs, Node ${sec.node}, seed ${sec.seed}, in ${Math.round(sec.wallS)} s (load average ${sec.loadavg.start.join(' / ')} at start, ${sec.loadavg.end.join(' / ')} at the end).`;
if (results.pure !== undefined) {
  lines.push(`**Pure placement** (${N.toLocaleString('en-US')} members, R = ${R}; keys are random hashes, sizes log-uniform 1 KiB–1 MiB; join and leave: median of the trials, worst in brackets). ${measured(results.pure)}`, '');
  lines.push(row(['keys', 'zones', 'keys per node', 'owned keys max / mean', 'random assignment', '1 + 3.2/√(RK/N)', 'sd / mean (random)', 'owned bytes max / mean', 'random assignment', 'join: keys moved (ideal R/(N+1))', 'ratio', 'leave: keys moved (ideal R/N)', 'ratio', 'trials', 'load avg']));
  lines.push(row(Array(15).fill('---')));
  for (const p of results.pure.rows) {
    lines.push(row([
      p.keys.toLocaleString('en-US'), p.zones, p.keysPerNode, p.owned.keys.maxOverMean, p.random.keys.maxOverMean, p.poissonEstimate, `${p.owned.keys.cv} (${p.random.keys.cv})`,
      p.owned.bytes.maxOverMean, p.random.bytes.maxOverMean,
      `${pct(p.join.movedShareMedian)} (${pct(p.join.ideal)})`, `${p.join.ratioMedian}x (${p.join.ratioMax}x)`,
      `${pct(p.leave.movedShareMedian)} (${pct(p.leave.ideal)})`, `${p.leave.ratioMedian}x (${p.leave.ratioMax}x)`, p.trials, p.loadavg[0],
    ]));
  }
  lines.push('');
}
if (results.sim !== undefined) {
  const s0 = results.sim.rows[0];
  lines.push(`**Simulator end to end** (GossipCore with custody on every virtual node, production timing: 1 round = 1 s, custody settles ${s0.settleRounds} rounds after a node starts and sweeps every ${s0.sweepRounds}; no cache; LAN latency, 100 Mbit/s per transfer; ${s0.keys.toLocaleString('en-US')} 1 KiB keys on their owners, ${s0.writes} writes of 1 MiB on random nodes). ${measured(results.sim)}`, '');
  lines.push(row(['nodes', 'replicas', 'write: rounds until its owners hold it (median / max)', 'until only they do', 'body transfers per write', 'join: bodies the joiner owns', 'rounds until it holds them', 'of which after its settle period', 'until every body is on exactly its owners', 'transfers', 'wall s', 'load avg']));
  lines.push(row(Array(12).fill('---')));
  for (const s of results.sim.rows) {
    const afterSettle = s.joinHoldRounds === null ? null : r2(Math.max(0, s.joinHoldRounds - (s.replicas === 'all' ? 0 : s.settleRounds)));
    lines.push(row([s.nodes, s.replicas, `${s.writeOwnersRoundsMedian} / ${s.writeOwnersRoundsMax}`, s.writeExactRoundsMedian, s.writeTransfersMedian, s.joinOwned, s.joinHoldRounds,
      s.replicas === 'all' ? 'no settle wait' : afterSettle, s.joinExactRounds, s.joinTransfers, s.wallS, s.loadavg[0]]));
  }
  lines.push('');
}
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync(out, { recursive: true });
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log('wrote bench/results/placement-sim.json');
