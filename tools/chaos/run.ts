/**
 * One chaos run: start the cluster, run the workload under the seeded fault
 * schedule for the duration, undo every fault (every clock back on real
 * time, seen on the nodes, before the convergence check), wait (bounded) for the nodes
 * to converge, read every key's final state from every node, and check the
 * history (checker.ts). Returns the summary whose JSON is the CLI's last line.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { check, keyHistory, type CheckInput, type CheckReport } from './checker.js';
import { ChaosCluster } from './cluster.js';
import { FaultRunner } from './faults.js';
import { versionIdentity, type FinalKeyState, type FinalRead, type FinalVersion } from './history.js';
import { placementGaps, type PlacementRules } from './placement-check.js';
import type { Crash } from './processes.js';
import { buildSchedule, maxDownBound, type FaultKind } from './schedule.js';
import { readKey, Workload, WORKLOAD_DEFAULTS } from './workload.js';

export interface ChaosOptions {
  durationSeconds: number;
  seed: number;
  nodes: number;
  /** owners per body, each node's --replicas */
  replicas: number | 'all';
  /** most nodes out at once, at most R − 1 (schedule.ts maxDownBound) */
  maxDown: number;
  /** each node's --cache-size, bytes */
  cacheBytes: number;
  clients: number;
  keys: number;
  convergenceBoundSeconds: number;
  ipBase: number;
  keepDir: boolean;
  say: (line: string) => void;
  /** stops the run early (SIGINT): faults end, the cluster is still healed and checked */
  signal?: AbortSignal;
}

/**
 * 5 nodes, each body on 3 of them, at most 2 (R − 1) out at once. No cache
 * (`--cache-size 0`): a node drops every copy it does not own once the
 * owners confirm, so the hand-off and the last-copy rule are exercised, and
 * reads on non-owners stream from an owner.
 */
export const CHAOS_DEFAULTS = {
  nodes: 5, replicas: 3, maxDown: 2, cacheBytes: 0, clients: WORKLOAD_DEFAULTS.clients, keys: WORKLOAD_DEFAULTS.keys, convergenceBoundSeconds: 90,
} as const;

/** The default --max-down for R replicas on `nodes` nodes: 2, or fewer when R − 1 is. */
export function defaultMaxDown(replicas: number | 'all', nodes: number): number {
  return Math.min(CHAOS_DEFAULTS.maxDown, maxDownBound(replicas, nodes));
}

export interface ChaosSummary {
  acknowledged: number;
  lost: number;
  converged: boolean;
  convergenceSeconds: number | null;
  convergenceBoundSeconds: number;
  faults: Record<FaultKind, number>;
  faultsSkipped: number;
  operations: { put: number; delete: number; get: number; ok: number; failed: number; unknown: number };
  acknowledgedPuts: number;
  acknowledgedDeletes: number;
  unverifiableDeletes: number;
  divergentKeys: number;
  wrongWinners: number;
  unexplainedVersions: number;
  staleFinalReads: number;
  partialBodies: number;
  /** nodes naming different owners for a live final version */
  ownerDisagreements: number;
  /** owners that do not hold the body of a live final version */
  unconvergedBodies: number;
  /** fewest and most nodes holding the body of a live final version at the end */
  bodyCopies: { min: number; max: number } | null;
  /** GET /cluster placement counts summed over the nodes at the end (null if a node did not answer) */
  placement: { owned: number; cached: number; handoff: number; missing: number } | null;
  crashes: number;
  seed: number;
  durationSeconds: number;
  nodes: number;
  replicas: number | 'all';
  maxDown: number;
  cacheBytes: number;
  ok: boolean;
}

const FINAL_READ_TIMEOUT_MS = 10_000;

/** Every node's versions of `key` (empty on 404). */
async function versionsOn(agent: Agent, url: string, key: string): Promise<FinalVersion[]> {
  const res = await request(`${url}/blobs/${key}/versions`, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 });
  if (res.statusCode === 404) {
    await res.body.dump();
    return [];
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`${url} answered ${res.statusCode} for the versions of ${key}`);
  }
  const json = (await res.body.json()) as { winner: Record<string, unknown>; siblings: Record<string, unknown>[] };
  return [json.winner, ...json.siblings].map((v) => ({
    sha256: v.sha256 as string, tombstone: v.tombstone as boolean, clock: v.vectorClock as Record<string, number>, origin: v.origin as string,
    hlc: v.hlc as { wall: number; logical: number }, size: v.size as number, contentType: v.contentType as string,
    ...(typeof v.cacheControl === 'string' ? { cacheControl: v.cacheControl } : {}), bodyHeld: v.bodyHeld as boolean,
    ...(Array.isArray(v.owners) ? { owners: v.owners as string[] } : {}),
  }));
}

/** Keys read at once while polling (each key is read from every node in parallel). */
const SNAPSHOT_KEY_CONCURRENCY = 8;

async function snapshot(agent: Agent, cluster: ChaosCluster, keys: string[]): Promise<Map<string, FinalKeyState[]>> {
  const final = new Map<string, FinalKeyState[]>();
  for (let i = 0; i < keys.length; i += SNAPSHOT_KEY_CONCURRENCY) {
    const batch = keys.slice(i, i + SNAPSHOT_KEY_CONCURRENCY);
    const states = await Promise.all(batch.map((key) => Promise.all(cluster.nodes.map(async (n) => ({ node: n.index, versions: await versionsOn(agent, n.url, key) })))));
    batch.forEach((key, j) => final.set(key, states[j] as FinalKeyState[]));
  }
  return final;
}

/**
 * What still keeps the nodes from having converged: keys whose sets differ,
 * live versions whose owners nodes name differently, and owners lacking a
 * body (placement-check.ts, the rule the checker applies).
 */
function unsettled(final: Map<string, FinalKeyState[]>, rules: PlacementRules): { differing: number; ownersDiffer: number; bodiesMissing: number } {
  const id = (versions: readonly FinalVersion[]): string => versions.map(versionIdentity).sort().join(',');
  let differing = 0;
  let ownersDiffer = 0;
  let bodiesMissing = 0;
  for (const [key, states] of final) {
    const reference = id(states[0]?.versions ?? []);
    if (states.some((s) => id(s.versions) !== reference)) {
      differing++;
      continue;
    }
    const gaps = placementGaps(key, states, rules);
    ownersDiffer += gaps.ownerDisagreements.length;
    bodiesMissing += gaps.unplacedBodies.length;
  }
  return { differing, ownersDiffer, bodiesMissing };
}

/** Every node's custody counts (GET /cluster `placement`), summed; null when a node does not answer. */
async function placementTotals(agent: Agent, cluster: ChaosCluster): Promise<ChaosSummary['placement']> {
  try {
    const views = await Promise.all(cluster.nodes.map(async (n) => {
      const res = await request(`${n.url}/cluster`, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 });
      return (await res.body.json()) as { placement?: Record<'owned' | 'cached' | 'handoff' | 'missing', { bodies: number }> };
    }));
    const total = { owned: 0, cached: 0, handoff: 0, missing: 0 };
    for (const v of views) {
      if (v.placement === undefined) return null;
      for (const k of ['owned', 'cached', 'handoff', 'missing'] as const) total[k] += v.placement[k].bodies;
    }
    return total;
  } catch {
    return null;
  }
}

export async function runChaos(o: ChaosOptions): Promise<{ summary: ChaosSummary; report: CheckReport; details: string[] }> {
  const began = Date.now();
  const clock = (): number => Date.now() - began;
  const crashes: Crash[] = [];
  const say = (line: string): void => o.say(`[${(clock() / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const schedule = buildSchedule({ seed: o.seed, durationMs: o.durationSeconds * 1000, nodes: o.nodes, replicas: o.replicas, maxDown: o.maxDown });
  const ownersPerBody = o.replicas === 'all' ? o.nodes : Math.min(o.replicas, o.nodes);
  const runDir = await mkdtemp(join(tmpdir(), 'gcdn-chaos-'));
  const details: string[] = [];
  let failed = true;
  const cluster = new ChaosCluster({
    nodes: o.nodes, ipBase: o.ipBase, runDir, seed: o.seed, clock, startTimeoutMs: 60_000, replicas: o.replicas, cacheBytes: o.cacheBytes,
    onCrash: (c) => {
      crashes.push(c);
      say(`CRASH: ${c.name} exited on its own (code ${c.code}, signal ${c.signal})`);
    },
  });
  const agent = new Agent({ connections: 8, connect: { timeout: 3000 }, headersTimeout: FINAL_READ_TIMEOUT_MS, bodyTimeout: FINAL_READ_TIMEOUT_MS });
  try {
    say(`seed ${o.seed}: ${schedule.length} faults over ${o.durationSeconds} s, ${o.nodes} nodes, ${o.replicas} replicas, at most ${o.maxDown} out at once, cache ${o.cacheBytes} bytes; run dir ${runDir}`);
    await cluster.start(say);
    await cluster.waitMembership(60_000);
    say('membership complete; starting the workload and the faults');
    const rules: PlacementRules = { nodeIds: cluster.nodes.map((n) => n.id), ownersPerBody };
    const c = cluster;
    const workload = new Workload({
      ...WORKLOAD_DEFAULTS, clients: o.clients, keys: o.keys, seed: o.seed, clock,
      nodeUrls: c.nodes.map((n) => n.url),
      isUp: (i) => { const n = c.nodes[i]; return n !== undefined && !n.down && !n.proc.paused && n.proc.running; },
    });
    const faults = new FaultRunner(c, o.maxDown, clock, say);
    workload.start();
    faults.start(schedule);
    const progress = setInterval(() => {
      const h = workload.history;
      say(`${h.length} operations (${h.filter((x) => x.kind !== 'get' && x.outcome === 'ok').length} acknowledged writes), ${faults.log.length} faults so far`);
    }, 5000);
    await new Promise<void>((resolve) => {
      if (o.signal?.aborted === true) {
        resolve();
        return;
      }
      const t = setTimeout(resolve, o.durationSeconds * 1000);
      o.signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
    clearInterval(progress);
    say('faults over: undoing every fault still in force');
    await faults.stop();
    await workload.stop();
    const clocksOff = await c.healAll();
    for (const o of clocksOff) say(`node ${o.node}'s clock does not read real time after the heal: ${o.skewMs === null ? 'it did not answer' : `${Math.round(o.skewMs)} ms off`}`);
    const healedMs = clock();
    say(`healed; waiting up to ${o.convergenceBoundSeconds} s for convergence`);

    let final = new Map<string, FinalKeyState[]>();
    let converged = false;
    const deadline = Date.now() + o.convergenceBoundSeconds * 1000;
    let lastReport = Date.now();
    for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
      try {
        final = await snapshot(agent, c, workload.keys);
        const left = unsettled(final, rules);
        if (left.differing === 0 && left.ownersDiffer === 0 && left.bodiesMissing === 0) { converged = true; break; }
        if (Date.now() - lastReport >= 10_000) {
          lastReport = Date.now();
          say(`not converged yet: ${left.differing} keys differ between nodes, ${left.ownersDiffer} bodies whose owners nodes name differently, ${left.bodiesMissing} bodies missing on an owner`);
        }
      } catch (err) {
        if (attempt % 10 === 0) say(`convergence poll: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // Seen converged only counts within the bound (a slow last poll can end past it).
    const seenAfter = Math.round((clock() - healedMs) / 100) / 10;
    converged &&= seenAfter <= o.convergenceBoundSeconds;
    const convergenceSeconds = converged ? seenAfter : null;
    say(converged ? `converged in ${convergenceSeconds} s` : `NOT converged within ${o.convergenceBoundSeconds} s${seenAfter > o.convergenceBoundSeconds ? ` (last poll ended at ${seenAfter} s)` : ''}`);
    if (!converged) final = await snapshot(agent, c, workload.keys).catch(() => final);

    const finalReads: FinalRead[] = [];
    for (const key of workload.keys) {
      for (const n of c.nodes) {
        try {
          const read = await readKey(n.url, key, (url, opts) => request(url, { ...opts, dispatcher: agent }));
          finalReads.push({ node: n.index, key, status: read.status, servedWriteId: read.servedWriteId, servedSha256: read.servedSha256, problem: read.problem });
        } catch (err) {
          finalReads.push({ node: n.index, key, status: 0, problem: undefined });
          say(`final read of ${key} on node ${n.index} failed: ${(err as Error).message}`);
        }
      }
    }
    const input: CheckInput = { history: workload.history, final, finalReads, ...rules };
    const report = check(input);
    const placement = await placementTotals(agent, c);
    const h = workload.history;
    const faultCounts = faults.counts();
    const summary: ChaosSummary = {
      acknowledged: report.acknowledged,
      lost: report.lost.length,
      converged,
      convergenceSeconds,
      convergenceBoundSeconds: o.convergenceBoundSeconds,
      faults: faultCounts,
      faultsSkipped: faults.log.filter((e) => e.skipped !== undefined || e.error !== undefined).length,
      operations: {
        put: h.filter((x) => x.kind === 'put').length, delete: h.filter((x) => x.kind === 'delete').length, get: h.filter((x) => x.kind === 'get').length,
        ok: h.filter((x) => x.outcome === 'ok').length, failed: h.filter((x) => x.outcome === 'failed').length, unknown: h.filter((x) => x.outcome === 'unknown').length,
      },
      acknowledgedPuts: report.acknowledgedPuts,
      acknowledgedDeletes: report.acknowledgedDeletes,
      unverifiableDeletes: report.unverifiable,
      divergentKeys: report.divergentKeys.length,
      wrongWinners: report.wrongWinners.length,
      unexplainedVersions: report.unexplainedVersions.length,
      staleFinalReads: report.staleFinalReads.length,
      partialBodies: report.partialBodies.length,
      ownerDisagreements: report.ownerDisagreements.length,
      unconvergedBodies: report.unconvergedBodies.length,
      bodyCopies: report.copies ?? null,
      placement,
      crashes: crashes.length,
      seed: o.seed,
      durationSeconds: o.durationSeconds,
      nodes: o.nodes,
      replicas: o.replicas,
      maxDown: o.maxDown,
      cacheBytes: o.cacheBytes,
      ok: false,
    };
    summary.ok = report.ok && converged && crashes.length === 0;

    for (const l of report.lost) details.push(`LOST (seed ${o.seed}): ${l.op.kind.toUpperCase()} #${l.op.seq} of ${l.key}: ${l.why}`);
    for (const d of report.divergentKeys) details.push(`DIVERGED: ${d.key}: ${d.why}`);
    for (const w of report.wrongWinners) details.push(`WRONG WINNER: ${w.key}: ${w.why}`);
    for (const u of report.unexplainedVersions) details.push(`UNEXPLAINED VERSION: ${u.key}: ${u.sha256}`);
    for (const p of report.partialBodies) details.push(`PARTIAL BODY (${p.when}) on node ${p.node}: ${p.key}: ${p.problem}`);
    for (const s of report.staleFinalReads) details.push(`STALE FINAL READ on node ${s.node}: ${s.key}: ${s.why}`);
    for (const d of report.ownerDisagreements) details.push(`OWNERS DIFFER: ${d.key} (body ${d.sha256}): ${d.why}`);
    for (const b of report.unconvergedBodies) details.push(`BODY NOT HELD by its owner node ${b.node}: ${b.key} (body ${b.sha256})`);
    for (const key of report.suspectKeys.slice(0, 20)) details.push(...keyHistory(key, input));
    for (const c2 of crashes) details.push(`CRASH: ${c2.name} at ${c2.atMs} ms (code ${c2.code}, signal ${c2.signal}); log tail:\n${c2.logTail}`);
    for (const e of faults.log.filter((x) => x.error !== undefined)) details.push(`FAULT ERROR: ${e.event.kind}: ${e.error ?? ''}`);
    failed = !summary.ok;
    return { summary, report, details };
  } finally {
    await agent.close().catch(() => undefined);
    const keep = failed && o.keepDir;
    if (keep) say(`run dir kept: ${runDir}`);
    await cluster.close(keep);
  }
}
