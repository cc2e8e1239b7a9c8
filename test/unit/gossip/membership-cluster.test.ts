/**
 * Many Membership state machines over the simulated network, in virtual time:
 * join and convergence, crash detection within the bound the timing implies,
 * refutation, indirect probes, leave, partitions and restarts, false
 * positives under loss, Lifeguard against a slow node, determinism. Numbers
 * measured here are recorded in proposals/0001-gossip-protocol.md.
 */
import { describe, expect, it } from 'vitest';
import { MembershipSim, type ChangeEvent } from '../../helpers/membership-sim.js';
import { MEMBERSHIP_OPTIONS, MEMBERSHIP_PROFILES, type MembershipOptions } from '../../../src/gossip/core/membership-config.js';
import { buildOptions } from '../../../src/options.js';
import { suspicionBounds } from '../../../src/gossip/core/suspicion.js';
import type { LinkModel } from '../../../tools/sim/sim-network.js';

const LOCAL = MEMBERSHIP_PROFILES.localTest;
const PRODUCTION = MEMBERSHIP_PROFILES.production;
const LAN: LinkModel = { latency: { kind: 'uniform', min: 1, max: 11 }, loss: 0, duplicate: 0 };

async function converged(sim: MembershipSim, maxMs = 60_000): Promise<number> {
  const took = await sim.runUntil(() => sim.allSee('alive'), maxMs);
  if (took === undefined) throw new Error(`no convergence within ${maxMs} virtual ms (seed ${sim.config.seed})`);
  return took;
}

async function until(sim: MembershipSim, what: string, done: () => boolean, maxMs: number): Promise<number> {
  const took = await sim.runUntil(done, maxMs);
  if (took === undefined) throw new Error(`${what}: not within ${maxMs} virtual ms (seed ${sim.config.seed})`);
  return took;
}

describe('join', () => {
  it('50 nodes seeded as a chain all know each other alive within a few probe rounds', async () => {
    const sim = new MembershipSim({ nodes: 50, seed: 11, options: LOCAL, link: LAN, wire: 'validated' });
    sim.seedChain();
    const took = await converged(sim);
    // measured over 5 seeds: 2.3 probe rounds on average, 3.6 at worst
    expect(took / LOCAL.probeIntervalMs).toBeLessThanOrEqual(6);
    expect(sim.total((m) => m.stats.suspicionsRaised)).toBe(0);
    expect(sim.net.violations).toEqual([]);
  });

  it('converges at production timing too, and stays converged', async () => {
    const sim = new MembershipSim({ nodes: 100, seed: 12, options: PRODUCTION, link: LAN });
    sim.seedStar(0);
    const took = await converged(sim, 120_000);
    // measured over 5 seeds: 0.8 rounds at N = 50, 2.1 at N = 200
    expect(took / PRODUCTION.probeIntervalMs).toBeLessThanOrEqual(6);
    await sim.run(30 * PRODUCTION.probeIntervalMs);
    expect(sim.allSee('alive')).toBe(true);
    expect(sim.total((m) => m.stats.suspicionsRaised)).toBe(0);
  });
});

describe('failure detection', () => {
  it('suspects a node that stops answering, then declares it dead everywhere within the configured bound', async () => {
    const n = 20;
    const sim = new MembershipSim({ nodes: n, seed: 21, options: LOCAL, link: LAN, wire: 'validated' });
    sim.seedStar();
    await converged(sim);
    await sim.run(5 * LOCAL.probeIntervalMs);
    sim.stop(7);
    const suspected = await until(sim, 'first suspicion', () => sim.nodes.some((o) => o.up && sim.stateOf(o.index, 7) === 'suspect'), 60_000);
    const dead = suspected + (await until(sim, 'dead everywhere', () => sim.everyoneSees(7, 'dead'), 60_000));
    // first probe of the node within one round of every prober (N−1 intervals), plus the probe itself
    const suspicionBound = n * LOCAL.probeIntervalMs;
    // then at most the unconfirmed suspicion timeout, plus a few gossip intervals to tell everyone
    const { minMs, maxMs } = suspicionBounds(LOCAL, n);
    const deadBound = suspicionBound + maxMs + 10 * LOCAL.gossipIntervalMs;
    expect(suspected).toBeLessThanOrEqual(suspicionBound);
    expect(dead).toBeLessThanOrEqual(deadBound);
    // with several probers confirming, it is much closer to the floor than to the ceiling
    expect(dead - suspected).toBeLessThan((minMs + maxMs) / 2);
    // nobody else was touched
    const others = sim.changes.filter((c) => c.member !== sim.node(7).info.id && c.state !== 'alive');
    expect(others).toEqual([]);
  });

  it('a suspected node that is alive refutes, raising its incarnation, and is alive everywhere again', async () => {
    const sim = new MembershipSim({ nodes: 15, seed: 31, options: LOCAL, link: LAN });
    sim.seedStar();
    await converged(sim);
    const x = sim.node(4);
    sim.stop(4); // a pause (SIGSTOP): state kept
    await until(sim, 'suspicion', () => sim.nodes.some((o) => o.up && sim.stateOf(o.index, 4) === 'suspect'), 30_000);
    sim.resume(4);
    await until(sim, 'alive again everywhere', () => sim.everyoneSees(4, 'alive'), 30_000);
    expect(x.membership.incarnation).toBeGreaterThanOrEqual(1);
    expect(x.membership.stats.refutations).toBeGreaterThanOrEqual(1);
    for (const o of sim.nodes) {
      if (o !== x) expect(o.membership.members().find((m) => m.id === x.info.id)?.incarnation).toBe(x.membership.incarnation);
    }
    expect(sim.changes.filter((c) => c.member === x.info.id && c.state === 'dead')).toEqual([]);
  });

  it('indirect probes keep a node whose direct link is blocked one way from being suspected', async () => {
    const run = async (options: MembershipOptions) => {
      const sim = new MembershipSim({ nodes: 10, seed: 41, options, link: LAN });
      sim.seedStar();
      await converged(sim);
      sim.net.block(sim.node(1).info.id, sim.node(2).info.id);
      await sim.run(60 * options.probeIntervalMs);
      return sim;
    };
    const withIndirect = await run(LOCAL);
    expect(withIndirect.total((m) => m.stats.suspicionsRaised)).toBe(0);
    expect(withIndirect.node(1).membership.probeStats.indirectProbes).toBeGreaterThan(0);
    expect(withIndirect.node(2).membership.probeStats.indirectProbes).toBeGreaterThan(0);
    // the control: without ping-req, the same cut makes 1 and 2 accuse each other
    const without = await run(buildOptions(MEMBERSHIP_OPTIONS, { indirectChecks: 0 }, LOCAL));
    expect(without.total((m) => m.stats.suspicionsRaised)).toBeGreaterThan(0);
  });
});

describe('leave, partitions, restarts', () => {
  it('a graceful leave spreads as left, and nobody declares the node dead', async () => {
    const sim = new MembershipSim({ nodes: 20, seed: 51, options: LOCAL, link: LAN, wire: 'validated' });
    sim.seedStar();
    await converged(sim);
    sim.node(9).membership.leave();
    await sim.run(LOCAL.gossipIntervalMs * 3); // the runtime flushes a moment, then stops
    sim.stop(9);
    const took = await until(sim, 'left everywhere', () => sim.everyoneSees(9, 'left'), 30_000);
    expect(took).toBeLessThanOrEqual(10 * LOCAL.probeIntervalMs);
    await sim.run(30 * LOCAL.probeIntervalMs);
    expect(sim.everyoneSees(9, 'left')).toBe(true);
    expect(sim.changes.filter((c) => c.state === 'dead' || c.state === 'suspect')).toEqual([]);
  });

  it('a node cut off until declared dead is retried and rejoins after the partition heals', async () => {
    const sim = new MembershipSim({ nodes: 12, seed: 61, options: LOCAL, link: LAN });
    sim.seedStar();
    await converged(sim);
    const x = sim.node(3).info.id;
    const rest = sim.nodes.filter((n) => n.index !== 3).map((n) => n.info.id);
    sim.net.partition([x], rest);
    await until(sim, 'dead on both sides', () => sim.everyoneSees(3, 'dead') && sim.node(3).membership.size() === 0, 120_000);
    await sim.run(4 * LOCAL.deadRetryMaxMs);
    sim.net.heal();
    const took = await converged(sim, 60_000);
    // a dead member is retried at least every deadRetryMaxMs (+25% jitter)
    expect(took).toBeLessThanOrEqual(1.25 * LOCAL.deadRetryMaxMs + 5 * LOCAL.probeIntervalMs);
    expect(sim.node(3).membership.incarnation).toBeGreaterThanOrEqual(1);
  });

  it('two halves that declared each other dead merge again after healing', async () => {
    const sim = new MembershipSim({ nodes: 20, seed: 62, options: LOCAL, link: LAN, wire: 'validated' });
    sim.seedStar();
    await converged(sim);
    const ids = sim.nodes.map((n) => n.info.id);
    sim.net.partition(ids.slice(0, 10), ids.slice(10));
    await until(sim, 'halves apart', () => sim.nodes.every((n) => n.membership.size() === 9), 120_000);
    sim.net.heal();
    const took = await converged(sim, 60_000);
    expect(took).toBeLessThanOrEqual(1.25 * LOCAL.deadRetryMaxMs + 10 * LOCAL.probeIntervalMs);
    expect(sim.net.violations).toEqual([]);
  });

  it('a crashed node restarted with no state (incarnation 0) refutes its death and rejoins', async () => {
    const sim = new MembershipSim({ nodes: 10, seed: 71, options: LOCAL, link: LAN });
    sim.seedStar();
    await converged(sim);
    sim.stop(6);
    await until(sim, 'dead everywhere', () => sim.everyoneSees(6, 'dead'), 60_000);
    sim.restart(6, [sim.node(0).info]);
    await converged(sim, 30_000);
    expect(sim.node(6).membership.incarnation).toBeGreaterThanOrEqual(1);
    expect(sim.node(6).membership.members()).toHaveLength(9);
  });
});

describe('robustness', () => {
  it('keeps false positives rare under 10% message loss (30 nodes, 300 probe rounds)', async () => {
    const sim = new MembershipSim({ nodes: 30, seed: 81, options: PRODUCTION, link: LAN });
    sim.seedStar();
    await converged(sim);
    sim.net.link = { ...LAN, loss: 0.1, duplicate: 0.01 };
    const start = sim.changes.length;
    const probes0 = sim.total((m) => m.probeStats.probes);
    await sim.run(300 * PRODUCTION.probeIntervalMs);
    const probes = sim.total((m) => m.probeStats.probes) - probes0;
    const suspicions = sim.total((m) => m.stats.suspicionsRaised);
    const deaths = sim.changes.slice(start).filter((c) => c.state === 'dead');
    // measured over 5 seeds: 0.13% of probes end in a suspicion, every one refuted; no false death
    expect(deaths).toEqual([]);
    expect(suspicions / probes).toBeLessThan(0.01);
    await sim.run(10 * PRODUCTION.probeIntervalMs);
    sim.net.link = LAN;
    await converged(sim, 60_000);
  });

  it('Lifeguard: a node slow to read its messages stops accusing healthy peers', async () => {
    const run = async (options: MembershipOptions) => {
      const sim = new MembershipSim({ nodes: 20, seed: 91, options, link: LAN });
      sim.seedStar();
      await converged(sim);
      sim.net.setInboundDelay(sim.node(3).info.id, 1_500); // acks reach it 1.5 s late
      await sim.run(200 * options.probeIntervalMs);
      const slow = sim.node(3).membership;
      const healthyDeclaredDead = new Set(sim.changes.filter((c) => c.state === 'dead' && c.member !== sim.node(3).info.id).map((c) => c.member));
      return { accusations: slow.stats.suspicionsRaised, health: slow.health, healthyDeclaredDead: healthyDeclaredDead.size };
    };
    const lifeguard = await run(PRODUCTION);
    const plain = await run(buildOptions(MEMBERSHIP_OPTIONS, { awarenessMax: 1, suspicionMaxTimeoutMult: 1 }, PRODUCTION));
    expect(lifeguard.health).toBeGreaterThan(0);
    expect(lifeguard.accusations * 10).toBeLessThan(plain.accusations);
    expect(lifeguard.healthyDeclaredDead).toBe(0);
  });

  it('is deterministic: one seed, one sequence of state changes', async () => {
    const scenario = async (seed: number): Promise<ChangeEvent[]> => {
      const sim = new MembershipSim({ nodes: 15, seed, options: LOCAL, link: { ...LAN, loss: 0.05, duplicate: 0.05 } });
      sim.seedChain();
      await sim.run(20 * LOCAL.probeIntervalMs);
      sim.stop(5);
      await sim.run(20 * LOCAL.probeIntervalMs);
      sim.resume(5);
      await sim.run(20 * LOCAL.probeIntervalMs);
      return sim.changes;
    };
    const a = await scenario(101);
    const b = await scenario(101);
    const c = await scenario(102);
    expect(a.length).toBeGreaterThan(200);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });
});
