import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Placement } from '../../../src/gossip/core/placement.js';

const id = (n: bigint) => `n${n.toString(16).padStart(16, '0')}`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('Placement', () => {
  it('ranks the same way whether it keeps a short top list or sorts every member (replicas all ranked by sorting all of them)', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 1, maxLength: 60 }), fc.string(), (ids, key) => {
      const members = ids.map((n) => ({ id: id(n), zone: '' }));
      const all = new Placement('all');
      const three = new Placement(3);
      all.setMembers(members);
      three.setMembers(members);
      const order = all.owners(sha(key));
      expect(order).toHaveLength(members.length);
      expect(three.owners(sha(key))).toEqual(order.slice(0, 3));
      expect(three.ranked(sha(key), 40)).toEqual(order.slice(0, Math.min(43, members.length)));
    }), { numRuns: 200 });
  });

  it('owners it remembers across joins, leaves and zone changes are what a fresh computation gives', () => {
    const change = fc.record({ join: fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom('', 'a', 'b', 'c')), { maxLength: 3 }), leave: fc.array(fc.nat(), { maxLength: 2 }), rezone: fc.boolean() });
    fc.assert(fc.property(fc.constantFrom<number | 'all'>(1, 2, 3, 'all'), fc.array(change, { minLength: 1, maxLength: 12 }), (replicas, changes) => {
      const bodies = Array.from({ length: 40 }, (_, i) => sha(`body ${i}`));
      const kept = new Placement(replicas);
      const members: { id: string; zone: string }[] = [];
      for (const c of changes) {
        for (const i of c.leave) if (members.length > 0) members.splice(i % members.length, 1);
        for (const [n, zone] of c.join) if (!members.some((m) => m.id === id(n))) members.push({ id: id(n), zone });
        if (c.rezone && members.length > 0) members[0] = { id: (members[0] as { id: string }).id, zone: 'z' };
        kept.setMembers(members);
        const fresh = new Placement(replicas);
        fresh.setMembers(members);
        for (const b of bodies) expect(kept.owners(b)).toEqual(fresh.owners(b));
      }
    }), { numRuns: 300 });
  });

  it('a join recomputes only the bodies the newcomer enters (about R/N of them), not every body', () => {
    const members = Array.from({ length: 50 }, (_, i) => ({ id: id(BigInt(i) * 7919n + 1n), zone: '' }));
    const bodies = Array.from({ length: 2000 }, (_, i) => sha(`join ${i}`));
    const placement = new Placement(3);
    placement.setMembers(members);
    const before = new Map(bodies.map((b) => [b, placement.owners(b)]));
    placement.setMembers([...members, { id: id(999_999n), zone: '' }]);
    // Unchanged owner lists are the very arrays remembered before the join (not recomputed).
    const same = bodies.filter((b) => placement.owners(b) === before.get(b)).length;
    const moved = bodies.filter((b) => placement.owners(b).includes(id(999_999n))).length;
    expect(same + moved).toBe(bodies.length);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(bodies.length * 0.15);
  });
});
