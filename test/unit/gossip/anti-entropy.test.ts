import { beforeAll, describe, expect, it } from 'vitest';
import { liveWinner, pickWinner } from '../../../src/consensus/versions.js';
import type { Version } from '../../../src/consensus/types.js';
import { hashSlice, sessionSalt } from '../../../src/gossip/core/anti-entropy.js';
import { MemoryVersionStore } from '../../../tools/doubles/memory-version-store.js';
import { LIMITS, PROTOCOL_VERSION } from '../../../src/gossip/core/messages.js';
import type { DataPlaneConfig } from '../../../src/gossip/core/data-plane-config.js';
import { DataPlaneSim, fingerprint, makeVersion, nodeIdOf, type SimNode } from '../../helpers/data-plane-sim.js';

/** A pair of nodes (plus `extra` idle ones) whose stores are loaded before the planes start. */
function pair(keys: number, options: { seed?: number; config?: Partial<DataPlaneConfig>; extra?: number } = {}) {
  const sim = new DataPlaneSim({ nodes: 2 + (options.extra ?? 0), seed: options.seed ?? 7, deferStart: true, config: options.config ?? {}, wire: 'json' });
  const [a, b] = [sim.node(0), sim.node(1)];
  for (let i = 0; i < keys; i++) {
    const v = makeVersion(a, sim.newKey(), sim.newSha());
    a.store.putLocal(v);
    b.store.putLocal(v);
  }
  for (const n of sim.nodes) n.plane.start();
  return { sim, a, b };
}

function equalStores(x: SimNode, y: SimNode): boolean {
  const same = (k: string): boolean => {
    const [sx, sy] = [x.store.siblings(k), y.store.siblings(k)];
    // the same version objects in the same order are the same set; otherwise compare their text
    if (sx.length === sy.length && sx.every((v, i) => v === sy[i])) return true;
    return fingerprint(sx) === fingerprint(sy);
  };
  // every key of either store (no union set: this runs after every round over 100,000 keys)
  for (const k of x.store.keys()) if (!same(k)) return false;
  for (const k of y.store.keys()) if (!same(k)) return false;
  return true;
}

/** Sessions opened by node 0 only, each run to completion, until the two agree; bytes and messages by type. */
async function repair(sim: DataPlaneSim, a: SimNode, b: SimNode, maxSessions = 20) {
  const before = new Map([...sim.net.byType].map(([t, c]) => [t, { ...c }]));
  const bytes0 = sim.net.bytes;
  const sessions0 = a.plane.stats().aeSessions;
  for (let i = 0; i < maxSessions * 20 && !equalStores(a, b); i++) {
    await sim.round([0]);
    await sim.drain();
  }
  const byType: Record<string, string> = {};
  for (const [t, c] of sim.net.byType) {
    const was = before.get(t) ?? { messages: 0, bytes: 0 };
    if (c.messages > was.messages) byType[t] = `${c.messages - was.messages} msgs/${c.bytes - was.bytes} B`;
  }
  return { agree: equalStores(a, b), bytes: sim.net.bytes - bytes0, sessions: a.plane.stats().aeSessions - sessions0, byType };
}

describe('anti-entropy: cost', () => {
  /** two nodes holding the same 100,000 keys, shared by the next two tests */
  let big: ReturnType<typeof pair>;
  beforeAll(() => {
    big = pair(100_000);
  }, 120_000);

  it('idle sessions cost the same few hundred bytes whether nodes hold 1,000 or 100,000 keys', async () => {
    const perRound: number[] = [];
    for (const keys of [1_000, 100_000]) {
      const { sim } = keys === 100_000 ? big : pair(keys);
      await sim.runRounds(2); // every node has opened its first session
      const bytes0 = sim.net.bytes;
      const sent0 = sim.net.sent;
      await sim.runRounds(20);
      const bytesPerNodeRound = (sim.net.bytes - bytes0) / 2 / 20;
      perRound.push(bytesPerNodeRound);
      console.log(`idle anti-entropy, ${keys} keys: ${bytesPerNodeRound.toFixed(0)} bytes per node per round, ${(sim.net.sent - sent0) / 40} messages per node per round`);
      expect(sim.net.sent - sent0).toBe(40); // one ae-nodes (the root) per session, no answer
      expect(bytesPerNodeRound).toBeLessThan(300);
    }
    expect(Math.abs((perRound[0] as number) - (perRound[1] as number))).toBeLessThan(5);
  });

  it('repairs 100 differences among 100,000 keys in at most 64 KiB on the wire', async () => {
    const { sim, a, b } = big;
    const missing = await (async () => {
      for (let i = 0; i < 100; i++) a.store.putLocal(makeVersion(a, sim.newKey(), sim.newSha()));
      return repair(sim, a, b);
    })();
    const relayed = await (async () => {
      // written by a third node, so the sender lists each body in `held`
      const elsewhere = { id: nodeIdOf(2), store: new MemoryVersionStore(), hlc: a.hlc };
      for (let i = 0; i < 100; i++) a.store.putLocal(makeVersion(elsewhere, sim.newKey(), sim.newSha()));
      return repair(sim, a, b);
    })();
    const split = await (async () => {
      for (let i = 0; i < 100; i++) {
        const n = i % 2 === 0 ? a : b;
        n.store.putLocal(makeVersion(n, sim.newKey(), sim.newSha()));
      }
      return repair(sim, a, b);
    })();
    const stale = await (async () => {
      const keys = [...a.store.keys()].slice(0, 100);
      for (const k of keys) a.store.putLocal(makeVersion(a, k, sim.newSha()));
      return repair(sim, a, b);
    })();
    const staleOpener = await (async () => {
      // the newer sets are on the side that does not open the sessions
      const keys = [...b.store.keys()].slice(100, 200);
      for (const k of keys) b.store.putLocal(makeVersion(b, k, sim.newSha()));
      return repair(sim, a, b);
    })();
    for (const [name, r] of Object.entries({ missing, relayed, split, stale, staleOpener })) {
      console.log(`repair 100/100k (${name}): ${r.bytes} bytes in ${r.sessions} session(s)`, JSON.stringify(r.byType));
      expect(r.agree).toBe(true);
    }
    expect(missing.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(relayed.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(split.bytes).toBeLessThanOrEqual(64 * 1024);
    // changed keys: the causal weights in ae-keys let the older side ask instead of sending its stale set
    expect(stale.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(staleOpener.bytes).toBeLessThanOrEqual(64 * 1024);
  }, 120_000);

  it('repair cost grows with the differences, not the keys; the plain descent costs about twice as much', async () => {
    const rows: string[] = [];
    for (const packed of [true, false]) {
      const { sim, a, b } = pair(20_000, { config: { aePackedChildren: packed } });
      for (const diffs of [1, 10, 100]) {
        for (let i = 0; i < diffs; i++) a.store.putLocal(makeVersion(a, sim.newKey(), sim.newSha()));
        const r = await repair(sim, a, b);
        expect(r.agree).toBe(true);
        rows.push(`${packed ? 'packed' : 'plain '} 20k keys, ${diffs} diffs: ${r.bytes} bytes`);
        if (diffs === 1) expect(r.bytes).toBeLessThan(2_500);
      }
    }
    console.log(rows.join('\n'));
  }, 60_000);
});

describe('anti-entropy: agreement', () => {
  it('a partition with writes on both sides heals to one winner per key everywhere', async () => {
    const sim = new DataPlaneSim({ nodes: 40, seed: 21, link: { latency: { kind: 'uniform', min: 2, max: 40 }, loss: 0.02, duplicate: 0.02 } });
    const left = sim.nodes.slice(0, 20).map((n) => n.id);
    const right = sim.nodes.slice(20).map((n) => n.id);
    sim.net.partition(left, right);
    const shared = sim.newKey();
    const writes: Version[] = [sim.write(0, shared), sim.write(25, shared)];
    for (let i = 0; i < 15; i++) writes.push(sim.write(i, sim.newKey()), sim.write(20 + i, sim.newKey()));
    await sim.runRounds(30);
    expect(sim.agree()).toBe(false);
    sim.net.heal();
    const rounds = await sim.runUntil(() => sim.agree() && writes.every((w) => sim.holding(w) === 40), 100);
    console.log(`partition 20/20 with 32 writes: agreement ${rounds} rounds after healing`);
    expect(rounds).toBeGreaterThan(0);
    const winners = new Set(sim.nodes.map((n) => pickWinner(n.store.siblings(shared))?.sha256));
    expect(winners.size).toBe(1);
    expect(sim.node(0).store.siblings(shared)).toHaveLength(2);
  });

  it('deletes do not resurrect, and stale admission keeps a collected key collected', async () => {
    const sim = new DataPlaneSim({ nodes: 20, seed: 23, config: { staleAdmissionMs: 5_000 } });
    const key = sim.newKey();
    const live = sim.write(0, key);
    expect(await sim.runUntil(() => sim.holding(live) === 20, 30)).toBeGreaterThan(0);
    const away = sim.node(19);
    sim.net.partition([away.id], sim.nodes.slice(0, 19).map((n) => n.id));
    const dead = sim.write(3, key, { tombstone: true });
    expect(await sim.runUntil(() => sim.holding(dead) === 19, 30)).toBeGreaterThan(0);
    sim.net.heal();
    expect(await sim.runUntil(() => sim.agree(), 30)).toBeGreaterThan(0);
    for (const n of sim.nodes) expect(liveWinner(n.store.siblings(key))).toBeUndefined();

    // the tombstone is collected everywhere but on a node that is away; it comes back holding the old live version
    sim.net.partition([away.id], sim.nodes.slice(0, 19).map((n) => n.id));
    for (const n of sim.nodes.slice(0, 19)) n.store.forget(key);
    away.store.forget(key);
    away.store.putLocal(live);
    await sim.runRounds(60); // 6 s: the version is now older than staleAdmissionMs
    sim.net.heal();
    await sim.runRounds(20);
    expect(sim.nodes.slice(0, 19).every((n) => n.store.siblings(key).length === 0)).toBe(true);
    expect(sim.nodes.reduce((n, x) => n + x.plane.stats().staleRefused, 0)).toBeGreaterThan(0);
  });

  it('a node that joins empty catches up by anti-entropy, without re-spreading what everyone has', async () => {
    const sim = new DataPlaneSim({ nodes: 8, seed: 29, deferStart: true, wire: 'validated' });
    const versions: Version[] = [];
    for (let i = 0; i < 3_000; i++) versions.push(makeVersion(sim.node(i % 7), sim.newKey(), sim.newSha()));
    for (const n of sim.nodes.slice(0, 7)) for (const v of versions) n.store.putLocal(v);
    for (const n of sim.nodes) n.plane.start();
    let rumors = 0;
    let biggest = 0;
    sim.tap = (_f, _t, m) => {
      if (m.type === 'versions' && m.hops < LIMITS.maxHops) rumors++;
      if (m.type === 'versions') biggest = Math.max(biggest, m.versions.length);
    };
    const rounds = await sim.runUntil(() => sim.node(7).store.size === 3_000 && sim.agree(), 100);
    console.log(`empty node catching up on 3,000 keys: ${rounds} rounds, largest versions message ${biggest}`);
    expect(rounds).toBeGreaterThan(0);
    expect(rumors).toBe(0);
    expect(biggest).toBeLessThanOrEqual(LIMITS.maxVersions);
    expect(sim.net.violations).toEqual([]);
    expect(sim.node(7).bodyRequests).toHaveLength(3_000);
  }, 60_000);
});

describe('anti-entropy: hostile or odd input', () => {
  it('answers nothing to an unknown peer, ignores paths outside the tree, and keeps no state', async () => {
    const { sim, a } = pair(50, { config: { treeDepth: 3 } });
    const sent0 = sim.net.sent;
    await a.plane.handle({ v: PROTOCOL_VERSION, from: 'n00000000000000ff', type: 'ae-nodes', sid: 'x', nodes: [['', '0'.repeat(16)]] });
    expect(sim.net.sent).toBe(sent0);
    const from = nodeIdOf(1);
    await a.plane.handle({ v: PROTOCOL_VERSION, from, type: 'ae-nodes', sid: 'x', nodes: [['abcd', '0'.repeat(16)]], children: [['abc', '0'.repeat(64)]] });
    await a.plane.handle({ v: PROTOCOL_VERSION, from, type: 'ae-want', sid: 'x', keys: ['00000000-0000-4000-a000-000000000000'] });
    expect(sim.net.sent).toBe(sent0);
    await a.plane.handle({ v: PROTOCOL_VERSION, from, type: 'ae-keys', sid: 'x', buckets: [''], keys: [] });
    expect(sim.net.sent).toBeGreaterThan(sent0); // "I have nothing": all 50 sets, in one message
    expect(sim.net.sent - sent0).toBe(1);
  });

  it('salts the packed slices by session, so a slice collision in one session is not one in the next', () => {
    const x = { hi: 0x12345678, lo: 0x9abcdef0 };
    const y = { hi: 0x12345678, lo: 0x9abcdef1 };
    const salts = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'].map(sessionSalt);
    expect(new Set(salts.map((s) => hashSlice(x, s))).size).toBeGreaterThan(4);
    expect(salts.filter((s) => hashSlice(x, s) === hashSlice(y, s)).length).toBeLessThan(2);
  });
});
