/**
 * The active view's pure logic: the cap, address diversity (the Sybil
 * bound), ring successors, refill after a death, rotation and determinism
 * under a seeded random.
 */
import { describe, expect, it } from 'vitest';
import { ActiveView, addressCap, addressGroup, type ViewCandidate } from '../../../src/gossip/core/active-view.js';
import { SeededRandom } from '../../../tools/sim/seeded-random.js';

const id = (i: number) => `n${String(i).padStart(4, '0')}`;

/** member k's own host: host names group by name, and sort as the ids do */
const host = (k: number) => `h${String(k).padStart(4, '0')}:7000`;

/** `n` honest members, each on its own address, known since `since`. */
function honest(n: number, since = 0): ViewCandidate[] {
  return Array.from({ length: n }, (_, i) => ({ id: id(i + 1), address: host(i + 1), since }));
}

/** `n` Sybils spread over `addresses` addresses, all newer than the honest ones. */
function sybils(n: number, addresses: number, since = 1_000): ViewCandidate[] {
  return Array.from({ length: n }, (_, i) => ({ id: `s${String(i).padStart(4, '0')}`, address: `192.168.9.${i % addresses}:${9000 + i}`, since }));
}

function view(maxPeers: number, seed = 1, self = id(0), selfAddress = host(0)): ActiveView {
  return new ActiveView(self, selfAddress, { maxPeers, ringPeers: 2 }, new SeededRandom(seed));
}

const groupsOf = (v: ActiveView, all: readonly ViewCandidate[]) => {
  const byId = new Map(all.map((c) => [c.id, addressGroup(c.address)]));
  const counts = new Map<string, number>();
  for (const m of v.members()) counts.set(byId.get(m) as string, (counts.get(byId.get(m) as string) ?? 0) + 1);
  return counts;
};

describe('address groups and the cap', () => {
  it('groups IPv4 by address, IPv6 by /64 and host names by name, ignoring the port', () => {
    expect(addressGroup('127.0.0.1:7001')).toBe(addressGroup('127.0.0.1:7002'));
    expect(addressGroup('127.0.0.1:7001')).not.toBe(addressGroup('127.0.0.2:7001'));
    expect(addressGroup('[2001:db8:1:2::5]:7000')).toBe(addressGroup('[2001:db8:1:2:ffff::9]:7000'));
    expect(addressGroup('[2001:db8:1:2::5]:7000')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('[2001:db8:1:3::5]:7000')).not.toBe(addressGroup('[2001:db8:1:2::5]:7000'));
    expect(addressGroup('[::1]:7000')).toBe('0:0:0:0::/64');
    expect(addressGroup('Node-1:7000')).toBe('node-1');
  });

  it('is ceil(maxPeers / groups), at least one', () => {
    expect(addressCap(8, 1)).toBe(8);
    expect(addressCap(8, 3)).toBe(3);
    expect(addressCap(8, 8)).toBe(1);
    expect(addressCap(8, 500)).toBe(1);
  });
});

describe('ActiveView', () => {
  it('holds every live member at or below maxPeers, and no ring', () => {
    const v = view(8);
    const live = honest(8);
    v.refill(live);
    expect([...v.members()].sort()).toEqual(live.map((c) => c.id).sort());
    expect(v.ringMembers().size).toBe(0);
  });

  it('never exceeds maxPeers, and holds its two ring successors', () => {
    const v = view(8);
    const live = honest(200);
    v.refill(live);
    expect(v.size).toBe(8);
    // self is n0000 on h0000: its ring successors (by address, then id) are n0001 and n0002
    expect([...v.ringMembers()].sort()).toEqual([id(1), id(2)]);
    expect(v.has(id(1)) && v.has(id(2))).toBe(true);
  });

  it('wraps the ring past the largest id', () => {
    const live = honest(50);
    const v = view(4, 3, id(50), host(50));
    v.refill(live);
    expect([...v.ringMembers()].sort()).toEqual([id(1), id(2)]);
  });

  it('fills completely when every member shares one address (the demo on 127.0.0.1)', () => {
    const live = Array.from({ length: 40 }, (_, i) => ({ id: id(i + 1), address: `127.0.0.1:${7001 + i}`, since: 0 }));
    const v = view(8);
    v.refill(live);
    expect(v.size).toBe(8);
  });

  it('gives 50 Sybils on one address at most the cap: one slot among 7 honest addresses', () => {
    const all = [...honest(7), ...sybils(50, 1)];
    for (let seed = 1; seed <= 20; seed++) {
      const v = view(4, seed);
      v.refill(all);
      const counts = groupsOf(v, all);
      // 8 groups, maxPeers 4: cap 1 per group
      expect(counts.get('192.168.9.0') ?? 0, `seed ${seed}`).toBeLessThanOrEqual(addressCap(4, 8));
      expect(v.size, `seed ${seed}`).toBe(4);
      expect(v.members().filter((m) => m.startsWith('n')).length, `seed ${seed}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('bounds Sybils on a few addresses by their share of addresses, not of registrations', () => {
    const all = [...honest(12), ...sybils(50, 4)];
    let sybilSlots = 0;
    const runs = 200;
    for (let seed = 1; seed <= runs; seed++) {
      const v = view(8, seed);
      v.refill(all);
      for (const [, n] of groupsOf(v, all)) expect(n).toBeLessThanOrEqual(addressCap(8, 16));
      sybilSlots += v.members().filter((m) => m.startsWith('s')).length;
    }
    // 4 of 16 addresses are Sybil: about a quarter of the random slots, far from 50/62 of them
    const share = sybilSlots / (8 * runs);
    expect(share).toBeLessThan(0.35);
    expect(share).toBeGreaterThan(0.1);
  });

  it('a cap that would starve the view leaves slots empty rather than over-fill one address', () => {
    const all = [...honest(1), ...sybils(50, 1)];
    const v = view(8);
    v.refill(all);
    // 2 groups: cap 4; the one honest member plus 4 Sybils
    expect(v.size).toBe(5);
    expect(v.has(id(1))).toBe(true);
  });

  it('prefers long-lived members within an address', () => {
    // one address, 100 members: 50 old, 50 new; the older of two random draws wins
    const live = Array.from({ length: 100 }, (_, i) => ({ id: `m${String(i).padStart(3, '0')}`, address: `127.0.0.1:${8000 + i}`, since: i < 50 ? 0 : 5_000 }));
    let old = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const v = view(10, seed, 'zzz', '127.0.0.1:7999'); // self last on the ring: its successors are m000, m001 (old)
      v.refill(live);
      old += v.members().filter((m) => Number(m.slice(1)) < 50).length - 2;
    }
    // 8 random slots per run: a uniform draw would give half to old members, the older-of-two about three quarters
    expect(old / (8 * 100)).toBeGreaterThan(0.65);
  });

  it('refills a dead peer\'s slot from the passive members and keeps the others', () => {
    const live = honest(100);
    const v = view(8);
    v.refill(live);
    const before = [...v.members()];
    const dead = before.find((m) => !v.ringMembers().has(m)) as string;
    expect(v.remove(dead)).toBe(true);
    expect(v.size).toBe(7);
    const added = v.refill(live.filter((c) => c.id !== dead));
    expect(added).toHaveLength(1);
    expect(v.size).toBe(8);
    expect(v.has(dead)).toBe(false);
    for (const m of before) if (m !== dead) expect(v.has(m)).toBe(true);
  });

  it('a dead ring successor is replaced by the next one on the ring', () => {
    const live = honest(100);
    const v = view(8);
    v.refill(live);
    v.remove(id(1));
    v.refill(live.filter((c) => c.id !== id(1)));
    expect([...v.ringMembers()].sort()).toEqual([id(2), id(3)]);
    expect(v.size).toBe(8);
  });

  it('rotation swaps one non-ring peer for one it did not hold', () => {
    const live = honest(100);
    const v = view(8);
    v.refill(live);
    const before = new Set(v.members());
    const out = v.rotateOut() as string;
    expect(v.ringMembers().has(out)).toBe(false);
    const added = v.refill(live, out);
    expect(added).toHaveLength(1);
    expect(added[0]).not.toBe(out);
    expect(before.has(added[0] as string)).toBe(false);
    expect(v.size).toBe(8);
  });

  it('drops members that are no longer live, and members past a cap that fell as addresses appeared', () => {
    const one = Array.from({ length: 20 }, (_, i) => ({ id: id(i + 1), address: `127.0.0.1:${7001 + i}`, since: 0 }));
    const v = view(8);
    v.refill(one);
    expect(v.size).toBe(8);
    // now 7 more addresses: the cap falls to 1 per address
    const more = [...one, ...Array.from({ length: 7 }, (_, i) => ({ id: `x${i}`, address: `10.9.9.${i}:7000`, since: 0 }))];
    v.refill(more);
    const counts = groupsOf(v, more);
    for (const [, n] of counts) expect(n).toBe(1);
    expect(v.size).toBe(8);
  });

  it('samples distinct active members and honours exclusions', () => {
    const v = view(8);
    v.refill(honest(100));
    const random = new SeededRandom(9);
    const s = v.sample(5, random, new Set([id(1)]));
    expect(new Set(s).size).toBe(5);
    expect(s).not.toContain(id(1));
    for (const m of s) expect(v.has(m)).toBe(true);
    expect(v.sample(20, random)).toHaveLength(8);
  });

  it('walks the ring past an address at its cap: many ids on one address take one ring slot', () => {
    // self on h0000, then 50 Sybils on one address that sorts right after it, then the honest members
    const crowd = Array.from({ length: 50 }, (_, i) => ({ id: `a${String(i).padStart(3, '0')}`, address: `h0000a:${9000 + i}`, since: 0 }));
    const all = [...crowd, ...honest(9)];
    const v = view(5, 4);
    v.refill(all);
    // 10 groups, cap 1: one ring slot for the crowd (its first id), the next one is n0001's
    expect([...v.ringMembers()].sort()).toEqual(['a000', id(1)]);
    expect(v.members().filter((m) => m.startsWith('a'))).toHaveLength(1);
  });

  it('is deterministic for a seed, and differs between seeds', () => {
    const live = [...honest(150), ...sybils(30, 3)];
    const run = (seed: number) => {
      const v = view(8, seed);
      v.refill(live);
      const out = v.rotateOut();
      v.refill(live, out);
      return [...v.members()];
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});
