/**
 * Placement on a simulated cluster: the real Custody on every virtual node,
 * R = 3, no cache (cacheBytes 0), so a copy a node does not own must go once
 * its owners confirm they hold it. The cluster starts settled (each preloaded
 * body on exactly its owners), then: writes on random nodes; a crash that
 * outlasts the hand-off delay; a node that joins. After each, every body is
 * on exactly its owners and only what had to move moved.
 */
import { describe, expect, it } from 'vitest';
import { PLACEMENT_PROFILES, type PlacementConfig } from '../../src/gossip/core/placement-config.js';
import type { Placement } from '../../src/gossip/core/placement.js';
import { applyFault } from '../../tools/sim/faults.js';
import { membershipComplete } from '../../tools/sim/metrics.js';
import { checkPlacement, liveBodies, placementSettled, truePlacement } from '../../tools/sim/placement-metrics.js';
import { coreOptions } from '../../tools/sim/profiles.js';
import { preloadKeys } from '../../tools/sim/scenarios.js';
import type { Simulation } from '../../tools/sim/simulation.js';
import { cluster, expectCleanWire } from './harness.js';

const N = 40;
const R = 3;
const PRELOADED = 300;
const WRITES = 30;
/** production placement with a shorter hand-off delay (5 min in production) and sweep, so the test runs in fewer virtual minutes */
const PLACEMENT: PlacementConfig = { ...PLACEMENT_PROFILES.production, replicas: R, cacheBytes: 0, handoffDelayMs: 20_000, sweepIntervalMs: 1_000, settleMs: 3_000 };

/** N nodes running, one more (index N) waiting to join. */
function placementCluster(seed: number): Simulation {
  const sim = cluster(N + 1, seed, { core: { ...coreOptions('production'), placement: PLACEMENT } });
  preloadKeys(sim, PRELOADED, { nodes: sim.nodes.slice(0, N), bodies: 'owners' });
  sim.startAll([N]);
  return sim;
}

async function untilPlaced(sim: Simulation, maxRounds: number): Promise<number> {
  const ms = await sim.runUntil(() => membershipComplete(sim) && placementSettled(sim), maxRounds * sim.roundMs, sim.roundMs);
  expect(checkPlacement(sim), `placement did not settle in ${maxRounds} rounds (seed ${sim.config.seed})`).toMatchObject({ missingCopies: 0, extraCopies: 0, lost: 0 });
  return (ms ?? 0) / sim.roundMs;
}

function ownedBy(placement: Placement, shas: Iterable<string>, id: string): number {
  let n = 0;
  for (const sha of shas) if (placement.isOwner(sha, id)) n++;
  return n;
}

function droppedCopies(sim: Simulation): number {
  return sim.upNodes().reduce((sum, n) => sum + n.core.custody.stats().dropped, 0);
}

interface PlacementRun {
  writeTransfers: number;
  nonOwnerWrites: number;
  dropped: number;
  crashOwned: number;
  transfersBeforeHandoff: number;
  crashTransfers: number;
  joinOwned: number;
  joinMoved: number;
  joinTransfers: number;
  trace: string;
}

async function placementRun(seed: number): Promise<PlacementRun> {
  const sim = placementCluster(seed);
  const stats = sim.bodies.stats;
  await sim.runUntil(() => membershipComplete(sim), 60 * sim.roundMs);
  await untilPlaced(sim, 30);

  // writes on random nodes: the owners pull each body, a writer that is not an owner drops its copy
  const before = stats.transfers;
  let nonOwnerWrites = 0;
  const truth = truePlacement(sim);
  for (let i = 0; i < WRITES; i++) {
    const writer = sim.pick(N);
    const v = sim.write(writer);
    if (!truth.isOwner(v.sha256, sim.node(writer).id)) nonOwnerWrites++;
  }
  await untilPlaced(sim, 60);
  const writeTransfers = stats.transfers - before;
  const dropped = droppedCopies(sim);

  // a crash: nothing moves within the hand-off delay; after it the next in line pull the crashed node's share
  const victim = sim.node(7);
  const crashOwned = ownedBy(truePlacement(sim), liveBodies(sim).keys(), victim.id);
  const beforeCrash = stats.transfers;
  applyFault(sim, { kind: 'crash', nodes: [victim.index] });
  await sim.runRounds(15);
  const transfersBeforeHandoff = stats.transfers - beforeCrash;
  await untilPlaced(sim, 120);
  const crashTransfers = stats.transfers - beforeCrash;

  // a join: the new node pulls what it now owns; the owner it displaced drops its copy
  const old = truePlacement(sim);
  const beforeJoin = stats.transfers;
  sim.join(N);
  await untilPlaced(sim, 60);
  const now = truePlacement(sim);
  const shas = [...liveBodies(sim).keys()];
  const joinMoved = shas.filter((sha) => old.owners(sha).join() !== now.owners(sha).join()).length;
  expect(stats.unowned, `bodies fetched by nodes that did not own them (seed ${seed})`).toBe(0);
  expectCleanWire(sim);
  return {
    writeTransfers,
    nonOwnerWrites,
    dropped,
    crashOwned,
    transfersBeforeHandoff,
    crashTransfers,
    joinOwned: ownedBy(now, shas, sim.node(N).id),
    joinMoved,
    joinTransfers: stats.transfers - beforeJoin,
    trace: sim.finalDigest(),
  };
}

describe(`placement on ${N} nodes, R = ${R}, no cache`, () => {
  it('a node that starts holding versions whose bodies it lacks fetches only the ones it owns (it used to fetch all: alone in its view at start, it owned everything)', async () => {
    const sim = placementCluster(3);
    await sim.runRounds(20);
    expect(membershipComplete(sim)).toBe(true);
    expect(checkPlacement(sim)).toMatchObject({ bodies: PRELOADED, exact: PRELOADED });
    expect(sim.bodies.stats.transfers, 'body transfers on a cluster whose placement had settled (seed 3)').toBe(0);
  });

  it('writes, a crash past the hand-off delay and a join each end with every body on exactly its owners, moving only what they must', async () => {
    const r = await placementRun(5);
    // each write: one transfer to every owner that lacked it (R, or R − 1 when the writer is an owner)
    expect(r.writeTransfers).toBe(WRITES * R - (WRITES - r.nonOwnerWrites));
    // ... and every writer that is not an owner dropped its copy once the owners confirmed
    expect(r.dropped).toBe(r.nonOwnerWrites);
    expect(r.nonOwnerWrites).toBeGreaterThan(0);

    // within the hand-off delay the dead node still owns: nothing moves
    expect(r.transfersBeforeHandoff).toBe(0);
    // after it, each body it owned gets one new owner, which pulls it once
    expect(r.crashOwned).toBeGreaterThan(0);
    expect(r.crashTransfers).toBe(r.crashOwned);

    // a join moves exactly the bodies the new node now owns, about R/N of them
    const ideal = ((PRELOADED + WRITES) * R) / N;
    expect(r.joinMoved).toBe(r.joinOwned);
    expect(r.joinTransfers).toBe(r.joinOwned);
    expect(r.joinMoved).toBeGreaterThan(0.5 * ideal);
    expect(r.joinMoved).toBeLessThan(1.5 * ideal);
  });

  it('one seed gives one run, placement included', async () => {
    const a = await placementRun(9);
    const b = await placementRun(9);
    expect(b).toEqual(a);
    expect((await placementRun(10)).trace).not.toBe(a.trace);
  });
});
