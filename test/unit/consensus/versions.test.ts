import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_SHA256,
  MAX_SIBLINGS,
  causalWeight,
  compareClocks,
  compareWinner,
  contextOf,
  descends,
  dominates,
  liveWinner,
  mergeSets,
  mergeVersion,
  nextClock,
  pickWinner,
  sameVersion,
  supersedes,
  toSiblingSet,
} from '../../../src/consensus/index.js';
import type { SiblingSet, Version, VectorClock } from '../../../src/consensus/index.js';
import { KEY, NODES, RUNS, clockArb, listAndPermutationArb, nodeIdArb, versionArb, versionsWithDuplicatesArb } from './arbitraries.js';

const [N1, N2, N3] = NODES;

function version(fields: Partial<Version> & { clock: VectorClock }): Version {
  return {
    key: KEY,
    timestamp: { wall: 1_000, logical: 0 },
    origin: N1,
    sha256: 'a'.repeat(64),
    size: 1,
    contentType: 'application/octet-stream',
    tombstone: false,
    ...fields,
  };
}

function tombstone(fields: Partial<Version> & { clock: VectorClock }): Version {
  return version({ sha256: EMPTY_SHA256, size: 0, tombstone: true, ...fields });
}

function fold(versions: readonly Version[]): SiblingSet {
  return versions.reduce<SiblingSet>((set, v) => mergeVersion(set, v).set, []);
}

/** Structural checks every sibling set must pass. */
function expectCanonical(set: SiblingSet): void {
  expect(Object.isFrozen(set)).toBe(true);
  for (let i = 1; i < set.length; i++) expect(compareWinner(set[i - 1] as Version, set[i] as Version)).toBeLessThan(0);
  for (const x of set) for (const y of set) if (x !== y) expect(compareClocks(x.clock, y.clock)).toBe('concurrent');
}

describe('compareWinner: the winner rule of SPEC §5', () => {
  const base = version({ clock: { [N1]: 1 } });

  it('prefers the highest timestamp, whatever origin and sha256 say', () => {
    const later = { ...base, timestamp: { wall: 1_000, logical: 1 }, origin: N1, sha256: '0'.repeat(64) };
    const earlier = { ...base, origin: N3, sha256: 'f'.repeat(64) };
    expect(compareWinner(later, earlier)).toBeLessThan(0);
    expect(pickWinner([earlier, later])).toBe(later);
  });

  it('then the highest origin id', () => {
    const high = { ...base, origin: N3, sha256: '0'.repeat(64) };
    const low = { ...base, origin: N2, sha256: 'f'.repeat(64) };
    expect(compareWinner(high, low)).toBeLessThan(0);
  });

  it('then the highest sha256', () => {
    expect(compareWinner({ ...base, sha256: 'b'.repeat(64) }, base)).toBeLessThan(0);
  });

  it('then a tombstone before a live version with the same digest', () => {
    const live = { ...base, sha256: EMPTY_SHA256, size: 0 };
    expect(compareWinner({ ...live, tombstone: true }, live)).toBeLessThan(0);
  });

  it('is a total order: antisymmetric, transitive, and 0 exactly for the same version', () => {
    fc.assert(
      fc.property(versionArb, versionArb, versionArb, (a, b, c) => {
        expect(Math.sign(compareWinner(a, b))).toBe(-Math.sign(compareWinner(b, a)) || 0);
        expect(compareWinner(a, b) === 0).toBe(sameVersion(a, b));
        expect(compareWinner(a, a)).toBe(0);
        if (compareWinner(a, b) <= 0 && compareWinner(b, c) <= 0) expect(compareWinner(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: RUNS * 5 },
    );
  });
});

describe('supersedes', () => {
  it('is a strict partial order', () => {
    fc.assert(
      fc.property(versionArb, versionArb, versionArb, (a, b, c) => {
        expect(supersedes(a, a)).toBe(false);
        if (supersedes(a, b)) expect(supersedes(b, a)).toBe(false);
        if (supersedes(a, b) && supersedes(b, c)) expect(supersedes(a, c)).toBe(true);
      }),
      { numRuns: RUNS * 5 },
    );
  });
});

describe('mergeVersion: the receipt rule of SPEC §5', () => {
  const v1 = version({ clock: { [N1]: 1 }, timestamp: { wall: 5_000, logical: 0 } });
  const v2 = version({ clock: { [N1]: 2 }, timestamp: { wall: 1_000, logical: 0 }, sha256: 'b'.repeat(64) });
  const concurrent = version({ clock: { [N2]: 1 }, origin: N2, sha256: 'c'.repeat(64) });

  it('adds a version to an empty set', () => {
    const r = mergeVersion([], v1);
    expect(r).toEqual({ set: [v1], changed: true });
    expect(Object.isFrozen(r.set)).toBe(true);
  });

  it('ignores a dominated version, even one with a later timestamp', () => {
    const held = mergeVersion([], v2).set;
    const r = mergeVersion(held, v1);
    expect(r.changed).toBe(false);
    expect(r.set).toBe(held);
  });

  it('lets a dominating version replace what it dominates, even with an earlier timestamp', () => {
    const r = mergeVersion(mergeVersion([], v1).set, v2);
    expect(r).toEqual({ set: [v2], changed: true });
  });

  it('ignores a duplicate', () => {
    const held = mergeVersion([], v1).set;
    expect(mergeVersion(held, { ...v1, clock: { ...v1.clock } })).toEqual({ set: held, changed: false });
  });

  it('keeps a concurrent version as a sibling, winner first', () => {
    const r = mergeVersion(mergeVersion([], v1).set, concurrent);
    expect(r.changed).toBe(true);
    expect(r.set).toEqual([v1, concurrent]); // v1 has the later timestamp
    expect(pickWinner(r.set)).toBe(v1);
  });

  it('keeps the better winner of two versions with equal clocks, in either order', () => {
    const twin = { ...v1, sha256: 'f'.repeat(64) };
    expect(mergeVersion(mergeVersion([], v1).set, twin)).toEqual({ set: [twin], changed: true });
    expect(mergeVersion(mergeVersion([], twin).set, v1)).toEqual({ set: [twin], changed: false });
  });

  it('lets a later write whose context covers the siblings resolve them', () => {
    const siblings = fold([v1, concurrent]);
    const resolved = version({ clock: nextClock(siblings, undefined, N3), origin: N3, timestamp: { wall: 10, logical: 0 } });
    expect(mergeVersion(siblings, resolved)).toEqual({ set: [resolved], changed: true });
  });

  it('rejects a version of another key', () => {
    expect(() => mergeVersion([v1], { ...concurrent, key: '00000000-0000-4000-8000-000000000000' })).toThrow(RangeError);
  });

  it('repairs a set that is not canonical', () => {
    const r = mergeVersion([concurrent, v1, v1], v1);
    expect(r).toEqual({ set: [v1, concurrent], changed: false });
    expect(mergeVersion([v1, v2], concurrent).set).toEqual([concurrent, v2].sort(compareWinner));
  });

  it('reports changed exactly when the members change', () => {
    fc.assert(
      fc.property(versionsWithDuplicatesArb, versionArb, (vs, v) => {
        const before = fold(vs);
        const { set, changed } = mergeVersion(before, v);
        const same = set.length === before.length && set.every((x) => before.some((y) => sameVersion(x, y)));
        expect(changed).toBe(!same);
        if (!changed) expect(set).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('tombstones', () => {
  const put = version({ clock: { [N1]: 1 }, timestamp: { wall: 1_000, logical: 0 } });
  const del = tombstone({ clock: { [N1]: 2 }, timestamp: { wall: 2_000, logical: 0 } });

  it('a delete after a put hides it, and the old put arriving late does not bring it back', () => {
    const set = fold([put, del]);
    expect(set).toEqual([del]);
    expect(liveWinner(set)).toBeUndefined();
    expect(liveWinner(mergeVersion(set, put).set)).toBeUndefined();
    expect(fold([del, put])).toEqual([del]);
  });

  it('a concurrent put and delete: the later timestamp wins, the loser stays a sibling', () => {
    const concurrentPut = version({ clock: { [N2]: 1 }, origin: N2, timestamp: { wall: 3_000, logical: 0 } });
    const set = fold([del, concurrentPut]);
    expect(set).toEqual([concurrentPut, del]);
    expect(liveWinner(set)).toBe(concurrentPut);
    const losingPut = { ...concurrentPut, timestamp: { wall: 1_500, logical: 0 } };
    expect(liveWinner(fold([losingPut, del]))).toBeUndefined();
  });

  it('a write after a delete brings the key back', () => {
    const set = fold([put, del]);
    const rewrite = version({ clock: nextClock(set, undefined, N2), origin: N2, timestamp: { wall: 500, logical: 0 } });
    expect(liveWinner(mergeVersion(set, rewrite).set)).toBe(rewrite);
  });
});

describe('merge laws', () => {
  const setArb = versionsWithDuplicatesArb.map(fold);

  it('mergeSets is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(setArb, setArb, setArb, (a, b, c) => {
        expect(mergeSets(a, b)).toEqual(mergeSets(b, a));
        expect(mergeSets(mergeSets(a, b), c)).toEqual(mergeSets(a, mergeSets(b, c)));
        expect(mergeSets(a, a)).toEqual(a);
        expect(mergeSets(a, [])).toEqual(a);
        expectCanonical(mergeSets(a, b));
      }),
      { numRuns: RUNS },
    );
  });

  it('mergeSets agrees with folding one set into the other', () => {
    fc.assert(
      fc.property(setArb, setArb, (a, b) => {
        expect(mergeSets(a, b)).toEqual(b.reduce<SiblingSet>((s, v) => mergeVersion(s, v).set, a));
      }),
      { numRuns: RUNS },
    );
  });

  it('folding any permutation of versions (with duplicates) gives the same set and winner', () => {
    fc.assert(
      fc.property(listAndPermutationArb, ([list, permuted]) => {
        const a = fold(list);
        const b = fold(permuted);
        expect(b).toEqual(a);
        expect(pickWinner(b)).toEqual(pickWinner(a));
        expect(toSiblingSet(list)).toEqual(a);
        expectCanonical(a);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('no superseded version survives, and every input is kept or superseded by a member', () => {
    fc.assert(
      fc.property(versionsWithDuplicatesArb, (list) => {
        const set = fold(list);
        for (const x of set) {
          for (const y of list) expect(supersedes(y, x)).toBe(false);
          for (const y of set) if (x !== y) expect(dominates(y.clock, x.clock)).toBe(false);
        }
        for (const v of list) {
          const kept = set.some((m) => sameVersion(m, v));
          const replaced = set.some((m) => dominates(m.clock, v.clock) || (compareClocks(m.clock, v.clock) === 'equal' && compareWinner(m, v) < 0));
          expect(kept !== replaced).toBe(true);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('the winner is the best maximal version, and pickWinner does not depend on the order of a set', () => {
    fc.assert(
      fc.property(listAndPermutationArb, ([list, permuted]) => {
        const maximal = list.filter((v) => !list.some((w) => supersedes(w, v)));
        const best = [...maximal].sort(compareWinner)[0];
        expect(pickWinner(list)).toEqual(best);
        expect(pickWinner(permuted)).toEqual(best);
        expect(liveWinner(list)).toEqual(best?.tombstone ? undefined : best);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the write rule', () => {
  it('nextClock dominates every held version and the client context', () => {
    fc.assert(
      fc.property(versionsWithDuplicatesArb, fc.option(clockArb, { nil: undefined }), nodeIdArb, (list, ctx, node) => {
        const set = fold(list);
        const clock = nextClock(set, ctx, node);
        for (const v of set) expect(dominates(clock, v.clock)).toBe(true);
        if (ctx !== undefined) expect(dominates(clock, ctx)).toBe(true);
        expect(descends(clock, contextOf(set))).toBe(true);
        const written = version({ clock, origin: node });
        expect(mergeVersion(set, written).set).toEqual([written]);
      }),
      { numRuns: RUNS },
    );
  });

  it('causalWeight: a set that supersedes another weighs more, so the lighter of two sets is never the newer', () => {
    fc.assert(
      fc.property(versionsWithDuplicatesArb, versionsWithDuplicatesArb, fc.option(clockArb, { nil: undefined }), nodeIdArb, (a, b, ctx, node) => {
        const older = fold(a);
        const newer = mergeVersion(older, version({ clock: nextClock(older, ctx, node), origin: node })).set;
        expect(causalWeight(newer)).toBeGreaterThan(causalWeight(older));
        // y supersedes x (each member of x dominated by one of y): y weighs at least as much, more unless the contexts are equal
        const x = fold(a);
        const y = fold(b);
        if (x.length > 0 && x.every((v) => y.some((w) => dominates(w.clock, v.clock)))) {
          if (compareClocks(contextOf(x), contextOf(y)) === 'equal') expect(causalWeight(y)).toBe(causalWeight(x));
          else expect(causalWeight(y)).toBeGreaterThan(causalWeight(x));
        }
      }),
      { numRuns: RUNS },
    );
    expect(causalWeight([])).toBe(0);
    expect(causalWeight([version({ clock: { [N1]: 2 } }), version({ clock: { [N1]: 1, [N2]: 3 } })])).toBe(5);
  });

  it('contextOf is the merge of every member clock', () => {
    expect(contextOf([])).toEqual({});
    expect(contextOf([version({ clock: { [N1]: 2 } }), version({ clock: { [N1]: 1, [N2]: 3 } })])).toEqual({ [N1]: 2, [N2]: 3 });
  });
});

describe('replicas converge (riak_dt / Yjs style simulation)', () => {
  type Op = { kind: 'write'; node: number; tombstone: boolean; stale: boolean } | { kind: 'sync'; from: number; to: number };
  const nodeIndex = fc.integer({ min: 0, max: NODES.length - 1 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), node: nodeIndex, tombstone: fc.boolean(), stale: fc.boolean() }),
    fc.record({ kind: fc.constant('sync' as const), from: nodeIndex, to: nodeIndex }),
  );

  it('writes, deletes and partial syncs in any order end in one set everywhere, with at most one sibling per writer', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 40, maxLength: 40 }), (ops, skew) => {
        const sets: SiblingSet[] = NODES.map(() => []);
        const issued: Version[] = [];
        let tick = 0;
        ops.forEach((op, i) => {
          if (op.kind === 'sync') {
            sets[op.to] = mergeSets(sets[op.to] ?? [], sets[op.from] ?? []);
            return;
          }
          const node = NODES[op.node] as string;
          const held = sets[op.node] ?? [];
          // a client sends a stale context (an empty one) half the time; the node's own clocks still count
          const clock = nextClock(held, op.stale ? undefined : contextOf(held), node);
          tick += 1;
          const v: Version = op.tombstone
            ? tombstone({ clock, origin: node, timestamp: { wall: tick * 10 - (skew[i] ?? 0) * 7, logical: 0 } })
            : version({ clock, origin: node, timestamp: { wall: tick * 10 - (skew[i] ?? 0) * 7, logical: 0 }, sha256: (tick % 16).toString(16).repeat(64) });
          issued.push(v);
          sets[op.node] = mergeVersion(held, v).set;
          expect(sets[op.node]).toEqual([v]); // a local write supersedes everything the node held
        });
        for (const set of sets) {
          const origins = set.map((v) => v.origin);
          expect(new Set(origins).size).toBe(origins.length);
        }
        // full sync: everyone merges everyone, in two different orders
        const all = sets.reduce<SiblingSet>((acc, s) => mergeSets(acc, s), []);
        const allReversed = [...sets].reverse().reduce<SiblingSet>((acc, s) => mergeSets(s, acc), []);
        expect(allReversed).toEqual(all);
        expect(all).toEqual(toSiblingSet(issued));
        expect(all.length).toBeLessThanOrEqual(NODES.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('2 clients × 100 interleaved writes with stale contexts on 2 nodes leave at most 2 siblings', () => {
    let a: SiblingSet = [];
    let b: SiblingSet = [];
    for (let i = 0; i < 100; i++) {
      a = mergeVersion(a, version({ clock: nextClock(a, {}, N1), origin: N1, timestamp: { wall: 2 * i, logical: 0 } })).set;
      b = mergeVersion(b, version({ clock: nextClock(b, {}, N2), origin: N2, timestamp: { wall: 2 * i + 1, logical: 0 } })).set;
      if (i % 7 === 0) a = mergeSets(a, b);
    }
    const merged = mergeSets(a, b);
    expect(merged.length).toBeLessThanOrEqual(2);
    expect(mergeSets(b, a)).toEqual(merged);
  });
});

describe('the sibling bound', () => {
  const hex = (i: number): string => `n${i.toString(16).padStart(16, '0')}`;
  const concurrentVersions = Array.from({ length: MAX_SIBLINGS + 16 }, (_, i) =>
    version({ clock: { [hex(i)]: 1 }, origin: hex(i), timestamp: { wall: 1_000 + ((i * 37) % 101), logical: 0 } }),
  );

  it(`keeps the ${MAX_SIBLINGS} best concurrent versions, whatever the arrival order`, () => {
    const best = [...concurrentVersions].sort(compareWinner).slice(0, MAX_SIBLINGS);
    expect(fold(concurrentVersions)).toEqual(best);
    expect(fold([...concurrentVersions].reverse())).toEqual(best);
    expect(pickWinner(fold(concurrentVersions))).toEqual(best[0]);
  });

  it('a write covering the kept siblings resolves them to one version', () => {
    const set = fold(concurrentVersions);
    const resolved = version({ clock: nextClock(set, undefined, N1), origin: N1 });
    expect(mergeVersion(set, resolved).set).toEqual([resolved]);
  });
});
