/**
 * A cap on peer links (--max-peers): 200 simulated nodes running the real
 * core with production timing, each with an active view of 8. Every node
 * still learns every member and every write, a crashed node is declared dead
 * by every other, no view exceeds 8, and the overlay the views form stays
 * strongly connected; at or below the cap a run is the run without it.
 */
import { describe, expect, it } from 'vitest';
import { applyFault } from '../../tools/sim/faults.js';
import { roundBounds, VersionWatch } from '../../tools/sim/metrics.js';
import { coreOptions } from '../../tools/sim/profiles.js';
import { preloadKeys } from '../../tools/sim/scenarios.js';
import type { Simulation } from '../../tools/sim/simulation.js';
import type { GossipCoreOptions } from '../../src/gossip/core/gossip-core.js';
import { boot, cluster, expectCleanWire, untilAgreement } from './harness.js';

function capped(maxPeers: number): GossipCoreOptions {
  const base = coreOptions('production');
  return { ...base, membership: { ...base.membership, maxPeers } };
}

/** Ids each running node's active view holds. */
function views(sim: Simulation): Map<string, string[]> {
  return new Map(sim.upNodes().map((n) => [n.id, n.core.membership.activePeers().map((p) => p.id)]));
}

/** Nodes reached from `from` along active-view links (forward, or backward with `reverse`). */
function reach(graph: Map<string, string[]>, from: string, reverse = false): Set<string> {
  const edges = new Map<string, string[]>();
  for (const [a, bs] of graph) {
    for (const b of bs) {
      const [x, y] = reverse ? [b, a] : [a, b];
      edges.set(x, [...(edges.get(x) ?? []), y]);
    }
  }
  const seen = new Set([from]);
  const queue = [from];
  for (let i = 0; i < queue.length && i < graph.size; i++) {
    for (const next of edges.get(queue[i] as string) ?? []) {
      if (graph.has(next) && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

function expectBoundedConnectedViews(sim: Simulation, maxPeers: number): void {
  const graph = views(sim);
  const seed = sim.config.seed;
  for (const [id, peers] of graph) {
    expect(peers.length, `${id}'s view (seed ${seed})`).toBeLessThanOrEqual(maxPeers);
    expect(peers.length, `${id}'s view (seed ${seed})`).toBe(maxPeers);
  }
  // every node is some nodes' active peer (its ring predecessors): it has probers
  const inDegree = new Map<string, number>();
  for (const peers of graph.values()) for (const p of peers) inDegree.set(p, (inDegree.get(p) ?? 0) + 1);
  for (const id of graph.keys()) expect(inDegree.get(id) ?? 0, `probers of ${id} (seed ${seed})`).toBeGreaterThanOrEqual(2);
  // strongly connected: every node reaches every other and is reached by it
  const first = sim.upNodes()[0]?.id as string;
  expect(reach(graph, first).size, `forward reach (seed ${seed})`).toBe(graph.size);
  expect(reach(graph, first, true).size, `backward reach (seed ${seed})`).toBe(graph.size);
}

describe('--max-peers 8 on 200 nodes', () => {
  it('every node learns every member and every write; views stay at 8 and connected; a crash is seen by all', async () => {
    const sim = cluster(200, 41, { core: capped(8) });
    preloadKeys(sim, 30);
    const membershipRounds = await boot(sim, 80);
    expect(membershipRounds).toBeLessThanOrEqual(80);
    expectBoundedConnectedViews(sim, 8);

    // one write: metadata reaches every node through the views
    const writer = sim.pick(200);
    const version = sim.write(writer);
    const watch = new VersionWatch(sim, version, sim.node(writer));
    const ms = await sim.runUntil(() => watch.everywhere(), roundBounds(200).target * sim.roundMs);
    expect(ms, `the write did not reach every node (seed ${sim.config.seed})`).toBeDefined();
    expect(await sim.runUntil(() => watch.bodiesPlaced(), 30 * sim.roundMs)).toBeDefined();

    // a crash: every other node declares it dead within the bound (proposals/0001, "Peer links")
    const victim = sim.node(17);
    applyFault(sim, { kind: 'crash', nodes: [17] });
    const deadEverywhere = () => sim.upNodes().every((n) => n.core.membership.members().find((m) => m.id === victim.id)?.state === 'dead');
    // a ring predecessor probes it within 2·8 − 1 probe intervals (a round is one), its suspicion
    // expires within the ceiling (6 × 4 × ceil(log10 201) s = 72 s), and the death spreads within 3·log2 N rounds
    const bound = 2 * 8 - 1 + 72 + roundBounds(200).target;
    const detected = await sim.runUntil(deadEverywhere, bound * sim.roundMs, sim.roundMs);
    expect(detected, `node 17 not dead everywhere within ${bound} rounds (seed ${sim.config.seed})`).toBeDefined();
    // its slots were refilled: every view is full again, connected, and without it
    await sim.runRounds(3);
    expectBoundedConnectedViews(sim, 8);
    for (const [, peers] of views(sim)) expect(peers).not.toContain(victim.id);

    // a burst of writes on many nodes: every node ends with every key
    for (let i = 0; i < 30; i++) sim.write((18 + sim.pick(199)) % 200);
    await untilAgreement(sim, 60);
    expect(sim.upNodes().every((n) => n.store.size === 30 + 1 + 30)).toBe(true);
    expectCleanWire(sim);
  });
});

describe('at or below --max-peers', () => {
  it('a 20-node run is the same run with a cap of 19 (every other node) as with no cap at all (4095)', async () => {
    const run = async (maxPeers: number) => {
      const sim = cluster(20, 43, { core: capped(maxPeers) });
      preloadKeys(sim, 10);
      await boot(sim);
      for (let i = 0; i < 5; i++) sim.write(sim.pick(20));
      applyFault(sim, { kind: 'crash', nodes: [3] });
      await sim.runRounds(40);
      for (const n of sim.upNodes()) expect(n.core.membership.limited).toBe(maxPeers < 19);
      return sim.finalDigest();
    };
    const uncapped = await run(4095);
    expect(await run(19)).toBe(uncapped);
    // and the cap does change the run once it is below the cluster
    expect(await run(8)).not.toBe(uncapped);
  });
});
