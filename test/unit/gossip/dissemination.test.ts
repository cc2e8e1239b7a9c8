import { describe, expect, it } from 'vitest';
import { pickWinner } from '../../../src/consensus/versions.js';
import type { Version } from '../../../src/consensus/types.js';
import { DATA_PLANE_OPTIONS, type DataPlaneConfig } from '../../../src/gossip/core/data-plane-config.js';
import { buildOptions } from '../../../src/options.js';
import { DataPlane } from '../../../src/gossip/core/data-plane.js';
import { MemoryVersionStore } from '../../../tools/doubles/memory-version-store.js';
import { LIMITS, PROTOCOL_VERSION, type GossipMessage, type MessageOf } from '../../../src/gossip/core/messages.js';
import { SeededRandom } from '../../../tools/sim/seeded-random.js';
import { StaticPeers } from '../../../tools/sim/static-peers.js';
import { VirtualClock } from '../../../tools/sim/virtual-clock.js';
import type { PeerInfo } from '../../../src/gossip/core/types.js';
import { silentLogger } from '../../../src/log.js';
import { DataPlaneSim, fingerprint, makeVersion, nodeIdOf } from '../../helpers/data-plane-sim.js';

/** one hop per round: a message sent in round r is handled in round r + 1 */
const HOP_PER_ROUND = { latency: { kind: 'constant', ms: 100 }, loss: 0, duplicate: 0 } as const;
const NO_AE = { antiEntropyIntervalMs: 3_600_000 };

/** One DataPlane whose sends are recorded, over a fixed list of peers. */
function lonePlane(options: { peers?: number; config?: Partial<DataPlaneConfig> } = {}) {
  const infos: PeerInfo[] = Array.from({ length: (options.peers ?? 10) + 1 }, (_, i) => ({
    id: nodeIdOf(i),
    address: `127.0.0.1:${20_000 + i}`,
    publicKey: 'A'.repeat(43),
  }));
  const self = infos[0] as PeerInfo;
  const clock = new VirtualClock();
  const random = new SeededRandom(42);
  const sent: { to: string; message: GossipMessage }[] = [];
  const store = new MemoryVersionStore();
  const needed: Version[] = [];
  const plane = new DataPlane(
    { self, transport: { send: (to, message) => sent.push({ to: to.id, message }) }, clock, random, logger: silentLogger() },
    { store, peers: new StaticPeers(self.id, infos, random.fork()), onBodyNeeded: (v) => needed.push(v) },
    buildOptions(DATA_PLANE_OPTIONS, { ...NO_AE, ...options.config }, 'localTest'),
  );
  plane.start();
  const hlc = { now: () => ({ wall: clock.now(), logical: 0 }) };
  const versionAt = (i: number, key: string, sha: string, base: readonly Version[] = []) => {
    const s = new MemoryVersionStore();
    for (const v of base) s.putLocal(v);
    return makeVersion({ id: nodeIdOf(i), store: s, hlc: hlc as never }, key, sha);
  };
  const from = (i: number, versions: Version[], hops = 0, held: string[] = []): MessageOf<'versions'> => ({
    v: PROTOCOL_VERSION,
    from: nodeIdOf(i),
    type: 'versions',
    versions,
    held,
    hops,
  });
  return { plane, store, sent, needed, clock, versionAt, from, self };
}

const KEY = '6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';

describe('DataPlane: rumors', () => {
  it('pushes a new write at once to `fanout` distinct peers, as a hops-0 rumor, once', () => {
    const { plane, store, sent, versionAt } = lonePlane({ config: { fanout: 3 } });
    const v = versionAt(0, KEY, 'a'.repeat(64));
    store.putLocal(v);
    plane.published(v);
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((s) => s.to)).size).toBe(3);
    for (const { message } of sent) {
      expect(message).toMatchObject({ type: 'versions', hops: 0, held: [], versions: [v], from: nodeIdOf(0), v: PROTOCOL_VERSION });
    }
    plane.published(v); // the seen-filter knows those three have it; others may still be picked
    expect(sent.slice(3).every((s) => !sent.slice(0, 3).some((t) => t.to === s.to))).toBe(true);
    expect(plane.stats().versionsSent).toBe(sent.length);
  });

  it('a write at one node reaches all 200 nodes in about log2 N rounds', async () => {
    const sim = new DataPlaneSim({ nodes: 200, seed: 1, link: HOP_PER_ROUND });
    const v = sim.write(0, sim.newKey());
    const rounds = await sim.runUntil(() => sim.holding(v) === 200, 40);
    console.log(`dissemination N=200 fanout=${sim.config.fanout}: all nodes in ${rounds} rounds (log2 N = 7.6)`);
    expect(rounds).toBeGreaterThan(0);
    expect(rounds).toBeLessThanOrEqual(12);
    expect(sim.net.violations).toEqual([]);
  });

  it('reaches 1,000 nodes within 3·log2 N = 30 rounds', async () => {
    const sim = new DataPlaneSim({ nodes: 1000, seed: 3, link: HOP_PER_ROUND, wire: 'json' });
    const v = sim.write(0, sim.newKey());
    const rounds = await sim.runUntil(() => sim.holding(v) === 1000, 40);
    const perNode = (sim.net.byType.get('versions')?.bytes ?? 0) / 1000;
    console.log(`dissemination N=1000: all nodes in ${rounds} rounds; ${perNode.toFixed(0)} bytes of versions messages per node`);
    expect(rounds).toBeGreaterThan(0);
    expect(rounds).toBeLessThanOrEqual(15);
  });

  it('rumors alone reach nearly everyone, each node forwarding at most once, within maxHops', async () => {
    const sim = new DataPlaneSim({ nodes: 200, seed: 5, link: HOP_PER_ROUND, config: NO_AE });
    const forwards = new Map<string, number>();
    let maxHops = 0;
    sim.tap = (from, _to, m) => {
      if (m.type !== 'versions') return;
      maxHops = Math.max(maxHops, m.hops);
      if (m.hops > 0) forwards.set(from, (forwards.get(from) ?? 0) + 1);
    };
    const v = sim.write(0, sim.newKey());
    await sim.runRounds(20);
    const reached = sim.holding(v);
    console.log(`rumors only, N=200 fanout=${sim.config.fanout}: ${reached} nodes reached, deepest hop ${maxHops}`);
    expect(reached).toBeGreaterThanOrEqual(190); // e^-fanout ≈ 2% may be missed: anti-entropy's job
    expect(Math.max(...forwards.values())).toBeLessThanOrEqual(sim.config.fanout);
    expect(maxHops).toBeLessThanOrEqual(sim.config.maxHops);
    expect(sim.net.byType.get('versions')?.messages ?? 0).toBeLessThanOrEqual(200 * sim.config.fanout);
  });

  it('stops forwarding at maxHops; anti-entropy carries the rest', async () => {
    const sim = new DataPlaneSim({ nodes: 100, seed: 8, link: HOP_PER_ROUND, config: { maxHops: 1 } });
    let deepest = 0;
    sim.tap = (_f, _t, m) => {
      if (m.type === 'versions' && m.hops < LIMITS.maxHops) deepest = Math.max(deepest, m.hops);
    };
    const v = sim.write(0, sim.newKey());
    expect(await sim.runUntil(() => sim.holding(v) === 100, 100)).toBeGreaterThan(0);
    expect(deepest).toBe(1);
  });

  it('concurrent writes to one key at two nodes end with the same winner and siblings everywhere', async () => {
    const sim = new DataPlaneSim({ nodes: 60, seed: 11, link: { latency: { kind: 'uniform', min: 5, max: 80 }, loss: 0, duplicate: 0 } });
    const key = sim.newKey();
    const a = sim.write(0, key);
    const b = sim.write(1, key); // neither has seen the other: concurrent
    expect(await sim.runUntil(() => sim.agree() && sim.holding(a) === 60 && sim.holding(b) === 60, 50)).toBeGreaterThan(0);
    const sets = sim.nodes.map((n) => n.store.siblings(key));
    expect(new Set(sets.map(fingerprint)).size).toBe(1);
    expect(sets[0]).toHaveLength(2);
    expect(new Set(sets.map((s) => pickWinner(s)?.origin)).size).toBe(1);
  });

  it('calls onBodyNeeded once per node per version, with the origin first among the holders', async () => {
    const sim = new DataPlaneSim({ nodes: 50, seed: 13, link: { latency: { kind: 'uniform', min: 5, max: 80 }, loss: 0, duplicate: 0 } });
    const writes = [0, 7, 19, 33].map((i) => sim.write(i, sim.newKey()));
    const dead = sim.write(7, writes[1]?.key as string, { tombstone: true });
    const live = writes.filter((w) => w !== writes[1]);
    expect(await sim.runUntil(() => sim.agree() && sim.holding(dead) === 50 && live.every((w) => sim.holding(w) === 50), 50)).toBeGreaterThan(0);
    for (const node of sim.nodes) {
      for (const w of writes) {
        const calls = node.bodyRequests.filter((r) => r.version.sha256 === w.sha256);
        // the origin has the body; writes[1] was deleted at once, so a node may never adopt it
        if (node.id === w.origin) expect(calls).toHaveLength(0);
        else if (w === writes[1]) expect(calls.length).toBeLessThanOrEqual(1);
        else expect(calls).toHaveLength(1);
        for (const c of calls) expect(c.holders[0]).toBe(w.origin);
      }
      expect(node.bodyRequests.some((r) => r.version.tombstone)).toBe(false);
      expect(node.bodyRequests.length).toBeLessThanOrEqual(writes.length);
    }
  });

  it('asks again at start for held versions whose bodies never arrived (a node killed between adoption and body fetch)', () => {
    // Regression: adoption asks for a body once, and anti-entropy sees equal
    // versions as settled, so a node killed -9 after adopting a version but
    // before its body arrived held the metadata without the body forever.
    const infos: PeerInfo[] = [0, 1].map((i) => ({ id: nodeIdOf(i), address: `127.0.0.1:${20_000 + i}`, publicKey: 'A'.repeat(43) }));
    const clock = new VirtualClock();
    const random = new SeededRandom(5);
    const store = new MemoryVersionStore();
    const hlc = { now: () => ({ wall: clock.now(), logical: 0 }) };
    const origin = new MemoryVersionStore();
    const missing = makeVersion({ id: nodeIdOf(1), store: origin, hlc: hlc as never }, KEY, 'b'.repeat(64));
    const heldKey = '7f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';
    const held = makeVersion({ id: nodeIdOf(1), store: origin, hlc: hlc as never }, heldKey, 'c'.repeat(64));
    void store.applyRemote([missing, held]);
    store.addBody(held.sha256);
    const needed: Version[] = [];
    const plane = new DataPlane(
      { self: infos[0] as PeerInfo, transport: { send: () => undefined }, clock, random, logger: silentLogger() },
      { store, peers: new StaticPeers(nodeIdOf(0), infos, random.fork()), onBodyNeeded: (v) => needed.push(v) },
      buildOptions(DATA_PLANE_OPTIONS, NO_AE, 'localTest'),
    );
    plane.start();
    expect(needed.map((v) => v.sha256)).toEqual([missing.sha256]);
  });

  it('duplicated and reordered delivery is harmless', async () => {
    const sim = new DataPlaneSim({ nodes: 60, seed: 17, link: { latency: { kind: 'uniform', min: 1, max: 300 }, loss: 0, duplicate: 0.3 } });
    const key = sim.newKey();
    const writes = [sim.write(0, key), sim.write(5, sim.newKey()), sim.write(9, key)];
    expect(await sim.runUntil(() => sim.agree() && writes.every((w) => sim.holding(w) === 60), 60)).toBeGreaterThan(0);
    for (const node of sim.nodes) {
      const shas = node.bodyRequests.map((r) => r.version.sha256);
      expect(new Set(shas).size).toBe(shas.length); // never asked twice for one version
    }
    expect(sim.net.violations).toEqual([]);
  });

  it('the same seed gives the same run', async () => {
    const run = async (seed: number) => {
      const sim = new DataPlaneSim({ nodes: 40, seed, link: { latency: { kind: 'lognormal', min: 1, median: 20, sigma: 0.8 }, loss: 0.05, duplicate: 0.05 } });
      const key = sim.newKey();
      sim.write(0, key);
      sim.write(3, key);
      sim.write(8, sim.newKey());
      await sim.runRounds(30);
      return JSON.stringify({
        sent: sim.net.sent,
        bytes: sim.net.bytes,
        sets: sim.nodes.map((n) => [...n.store.keys()].sort().map((k) => fingerprint(n.store.siblings(k)))),
        stats: sim.nodes.map((n) => n.plane.stats()),
      });
    };
    const a = await run(99);
    expect(await run(99)).toBe(a);
    expect(await run(100)).not.toBe(a);
  });
});

describe('DataPlane: receiving versions', () => {
  it('answers a stale rumor with its newer set, as a repair that the receiver does not forward', async () => {
    const { plane, store, sent, versionAt, from } = lonePlane();
    const v1 = versionAt(3, KEY, 'a'.repeat(64));
    const v2 = versionAt(5, KEY, 'b'.repeat(64), [v1]);
    store.putLocal(v2);
    await plane.handle(from(3, [v1], 2));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBe(nodeIdOf(3));
    expect(sent[0]?.message).toMatchObject({ type: 'versions', hops: LIMITS.maxHops, versions: [v2] });

    // the other way round: a repair is adopted but not forwarded
    const other = lonePlane();
    await other.plane.handle(other.from(3, [v2], LIMITS.maxHops, [v2.sha256]));
    expect(other.store.siblings(KEY)).toEqual([v2]);
    expect(other.sent).toHaveLength(0);
    expect(other.needed).toEqual([v2]);
    expect(other.plane.holders(v2.sha256)).toEqual([v2.origin, nodeIdOf(3)]);
  });

  it('records that the sender holds what it sent, and stays quiet when it already had it', async () => {
    const { plane, store, sent, versionAt, from } = lonePlane({ config: { fanout: 10 } });
    const v = versionAt(3, KEY, 'a'.repeat(64));
    store.putLocal(v);
    await plane.handle(from(4, [v], 1));
    expect(sent).toHaveLength(0);
    plane.published(v); // 10 peers, one of which (node 4) is known to have it
    expect(sent.map((s) => s.to)).not.toContain(nodeIdOf(4));
    expect(sent).toHaveLength(9);
  });

  it('stale admission: refuses old versions of keys it never held, accepts them for keys it holds', async () => {
    const day = 86_400_000;
    const { plane, store, clock, versionAt, from } = lonePlane({ config: { staleAdmissionMs: day } });
    const old = versionAt(3, KEY, 'a'.repeat(64));
    clock.advanceTo(clock.now() + 2 * day);
    await plane.handle(from(3, [old]));
    expect(store.siblings(KEY)).toEqual([]);
    expect(plane.stats().staleRefused).toBe(1);

    const key2 = '00000000-0000-4000-a000-000000000002';
    const older = versionAt(3, key2, 'c'.repeat(64));
    const held = versionAt(5, key2, 'd'.repeat(64)); // concurrent with `older`
    store.putLocal(held);
    await plane.handle(from(3, [older]));
    expect(store.siblings(key2)).toHaveLength(2);
  });

  it('ignores other message types, and everything before start()', async () => {
    const { plane, sent, from, versionAt } = lonePlane();
    await plane.handle({ v: PROTOCOL_VERSION, from: nodeIdOf(2), type: 'ping', seq: 1 });
    expect(sent).toHaveLength(0);
    plane.stop();
    await plane.handle(from(2, [versionAt(2, KEY, 'a'.repeat(64))]));
    plane.tick();
    expect(sent).toHaveLength(0);
    expect(plane.stats().versionsReceived).toBe(0);
  });
});
