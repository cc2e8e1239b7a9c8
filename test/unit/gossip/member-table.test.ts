import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemberTable, supersedes, type Member } from '../../../src/gossip/core/member-table.js';
import { SeededRandom } from '../../../tools/sim/seeded-random.js';
import type { MemberState } from '../../../src/gossip/core/types.js';

const STATES: MemberState[] = ['alive', 'suspect', 'dead', 'left'];

function member(i: number, state: MemberState = 'alive', stateSince = 0): Member {
  return {
    id: `n${i.toString(16).padStart(16, '0')}`,
    address: `10.0.0.${i}:7000`,
    publicKey: 'A'.repeat(43),
    incarnation: 0,
    state,
    stateSince,
    lastContact: null,
    suspicion: undefined,
    retries: 0,
    nextRetryAt: 0,
  };
}

describe('supersedes (SWIM precedence)', () => {
  const s = (incarnation: number, state: MemberState) => ({ incarnation, state });

  it('alive@i overrides suspect@j iff i > j', () => {
    expect(supersedes(s(2, 'alive'), s(1, 'suspect'))).toBe(true);
    expect(supersedes(s(1, 'alive'), s(1, 'suspect'))).toBe(false);
    expect(supersedes(s(0, 'alive'), s(1, 'suspect'))).toBe(false);
  });

  it('suspect@i overrides alive@j iff i ≥ j', () => {
    expect(supersedes(s(1, 'suspect'), s(1, 'alive'))).toBe(true);
    expect(supersedes(s(2, 'suspect'), s(1, 'alive'))).toBe(true);
    expect(supersedes(s(0, 'suspect'), s(1, 'alive'))).toBe(false);
  });

  it('dead and left override alive and suspect at ≥ incarnation', () => {
    for (const claim of ['dead', 'left'] as const) {
      for (const current of ['alive', 'suspect'] as const) {
        expect(supersedes(s(3, claim), s(3, current))).toBe(true);
        expect(supersedes(s(2, claim), s(3, current))).toBe(false);
      }
    }
  });

  it('left is final unless the member returns with a higher incarnation', () => {
    for (const claim of STATES) expect(supersedes(s(4, claim), s(4, 'left'))).toBe(false);
    expect(supersedes(s(5, 'alive'), s(4, 'left'))).toBe(true);
  });

  it('nothing supersedes itself, so duplicates are no-ops', () => {
    for (const state of STATES) expect(supersedes(s(2, state), s(2, state))).toBe(false);
  });

  it('is a total order: any order of the same claims ends at the same one', () => {
    const claim = fc.record({ incarnation: fc.integer({ min: 0, max: 4 }), state: fc.constantFrom(...STATES) });
    fc.assert(
      fc.property(fc.array(claim, { minLength: 1, maxLength: 12 }), fc.integer(), (claims, seed) => {
        const fold = (list: typeof claims) => list.reduce((cur, c) => (supersedes(c, cur) ? c : cur));
        const random = new SeededRandom(seed);
        const shuffled = [...claims];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = random.int(i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const a = fold(claims);
        const b = fold(shuffled);
        expect([b.incarnation, b.state]).toEqual([a.incarnation, a.state]);
      }),
    );
  });
});

describe('MemberTable', () => {
  it('indexes live members and keeps the index through state changes', () => {
    const t = new MemberTable(10);
    const ms = [1, 2, 3, 4].map((i) => t.add(member(i)) as Member);
    expect(t.liveCount).toBe(4);
    t.setState(ms[1] as Member, 'suspect');
    expect(t.liveCount).toBe(4);
    expect(t.suspectIds()).toEqual([ms[1]?.id]);
    t.setState(ms[1] as Member, 'dead');
    t.setState(ms[2] as Member, 'left');
    expect(t.liveCount).toBe(2);
    expect(new Set(t.liveIds())).toEqual(new Set([ms[0]?.id, ms[3]?.id]));
    expect(t.goneIds()).toEqual([ms[1]?.id, ms[2]?.id]);
    t.delete(ms[0]?.id as string);
    expect(t.liveIds()).toEqual([ms[3]?.id]);
    expect(t.size).toBe(3);
  });

  it('samples distinct live members, never excluded or gone ones', () => {
    const t = new MemberTable(100);
    for (let i = 1; i <= 20; i++) t.add(member(i, i % 4 === 0 ? 'dead' : 'alive'));
    const random = new SeededRandom(7);
    const exclude = new Set([member(1).id]);
    for (let count = 0; count <= 20; count++) {
      const got = t.sample(count, random, exclude);
      expect(got.length).toBe(Math.min(count, 14));
      expect(new Set(got.map((m) => m.id)).size).toBe(got.length);
      for (const m of got) {
        expect(m.state).toBe('alive');
        expect(exclude.has(m.id)).toBe(false);
      }
    }
  });

  it('samples uniformly', () => {
    const t = new MemberTable(100);
    for (let i = 1; i <= 10; i++) t.add(member(i));
    const random = new SeededRandom(3);
    const counts = new Map<string, number>();
    for (let r = 0; r < 10_000; r++) {
      for (const m of t.sample(2, random)) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
    }
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(1_800);
      expect(c).toBeLessThan(2_200);
    }
  });

  it('is bounded: a full table evicts the longest-gone member, or refuses when all are live', () => {
    const t = new MemberTable(3);
    t.add(member(1, 'dead', 50));
    t.add(member(2, 'left', 10));
    t.add(member(3));
    expect(t.add(member(4))?.id).toBe(member(4).id);
    expect(t.get(member(2).id)).toBeUndefined();
    expect(t.add(member(5))?.id).toBe(member(5).id);
    expect(t.get(member(1).id)).toBeUndefined();
    expect(t.add(member(6))).toBeUndefined();
    expect(t.size).toBe(3);
  });
});
