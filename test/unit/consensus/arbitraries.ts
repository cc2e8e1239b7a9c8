/**
 * fast-check generators for the consensus property tests. Node ids, counters,
 * timestamps and digests come from small pools so that equal clocks,
 * domination, concurrency and winner-rule ties all occur often.
 */
import fc from 'fast-check';
import { EMPTY_SHA256, normalizeClock } from '../../../src/consensus/index.js';
import type { HlcTimestamp, Version, VectorClock } from '../../../src/consensus/index.js';

/** Runs for cheap properties; the suite stays well under a few seconds. */
export const RUNS = 2000;

export const NODES = ['n0000000000000001', 'n3f9a0c41d2e8b7a6', 'n8812de0f9c3b1a27', 'nffffffffffffffff'] as const;
export const KEY = '6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';
const SHAS = [EMPTY_SHA256, 'a'.repeat(64), 'b'.repeat(64)] as const;

export const nodeIdArb = fc.constantFrom(...NODES);

/** Any valid node id (for wide clocks). */
export const anyNodeIdArb = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 }).map((h) => `n${h}`);

/** A clock over the 4-node pool with counters 0..3 (zeros are dropped by normalization). */
export const clockArb: fc.Arbitrary<VectorClock> = fc
  .array(fc.tuple(nodeIdArb, fc.integer({ min: 0, max: 3 })), { maxLength: 5 })
  .map((entries) => normalizeClock(Object.fromEntries(entries)));

export const hlcArb: fc.Arbitrary<HlcTimestamp> = fc.record({
  wall: fc.integer({ min: 0, max: 3 }),
  logical: fc.integer({ min: 0, max: 2 }),
});

/** A valid version of KEY; every field drawn from a small pool, so full ties happen. */
export const versionArb: fc.Arbitrary<Version> = fc
  .record({
    clock: clockArb,
    timestamp: hlcArb,
    origin: nodeIdArb,
    sha256: fc.constantFrom(...SHAS),
    size: fc.integer({ min: 0, max: 2 }),
    contentType: fc.constantFrom('application/octet-stream', 'text/plain'),
    cacheControl: fc.constantFrom(undefined, 'no-cache', 'max-age=60'),
    tombstone: fc.boolean(),
  })
  .map((r): Version => {
    // a tombstone carries the empty body, as versionSchema requires
    const v: Version = r.tombstone ? { key: KEY, ...r, sha256: EMPTY_SHA256, size: 0 } : { key: KEY, ...r };
    if (r.cacheControl === undefined) {
      const { cacheControl: _omit, ...rest } = v;
      return rest;
    }
    return v;
  });

/** A list of versions with some members repeated (as the same object or as an equal copy). */
export const versionsWithDuplicatesArb: fc.Arbitrary<Version[]> = fc
  .array(versionArb, { minLength: 1, maxLength: 10 })
  .chain((vs) =>
    fc
      .array(fc.tuple(fc.constantFrom(...vs), fc.boolean()), { maxLength: 5 })
      .map((dups) => [...vs, ...dups.map(([v, copy]) => (copy ? { ...v, clock: { ...v.clock }, timestamp: { ...v.timestamp } } : v))]),
  );

/** A list and a permutation of it. */
export const listAndPermutationArb: fc.Arbitrary<[Version[], Version[]]> = versionsWithDuplicatesArb.chain((vs) =>
  fc.tuple(fc.constant(vs), fc.shuffledSubarray(vs, { minLength: vs.length, maxLength: vs.length })),
);
