/**
 * Versions of one key: the winner rule, the receipt rule and the write rule
 * of SPEC §5 (see proposals/0002-conflict-resolution.md).
 *
 * A sibling set is the set of *maximal* versions under "supersedes":
 *
 *   x supersedes y  ⇔  x.clock dominates y.clock,
 *                      or the clocks are equal and x wins over y (compareWinner).
 *
 * That is a strict partial order (the clock order, refined by a total order
 * inside each class of equal clocks), so the maximal elements of a union do
 * not depend on how the union was grouped or ordered: merging sets is
 * commutative, associative and idempotent. Sets are kept in canonical order,
 * best winner first, and frozen, so equal sets are also structurally equal.
 * The one exception is the sibling bound (MAX_SIBLINGS), discussed there.
 */
import { compareHlc } from './hlc.js';
import type { SiblingSet, Version, VectorClock } from './types.js';
import { clockKey, compareClocks, incrementClock, mergeClocks } from './vector-clock.js';

/**
 * The most siblings a set keeps. Past it, the set keeps the MAX_SIBLINGS best
 * by compareWinner and drops the rest (Riak refuses writes at 100 siblings and
 * warns at 25). The cut is by a total order, so it is deterministic and never
 * drops the winner of what it cut; but a dropped sibling is forgotten, so once
 * a set overflows, nodes that saw versions in different orders can end up
 * with different losing siblings (and, if later writes supersede the kept
 * ones, a different winner). Convergence is guaranteed while no node ever
 * holds more than MAX_SIBLINGS concurrent versions of one key; the proposal
 * discusses the trade-off.
 */
export const MAX_SIBLINGS = 64;

const EMPTY_SET: SiblingSet = Object.freeze([]);

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The canonical total order on versions; negative when `a` is the better
 * winner (comes first), 0 exactly when sameVersion(a, b). Rule (SPEC §5):
 *
 *  1. higher HLC timestamp first;
 *  2. then higher origin node id (code-unit string order);
 *  3. then higher sha256.
 *
 * Versions that tie on all three come from one origin at one HLC instant, which
 * a correct node never issues twice for different content; the rest only makes
 * the order total so that a faulty peer cannot make nodes disagree:
 *
 *  4. a tombstone before a live version (a delete is never undone by a tie);
 *  5. then clockKey ascending; 6. size ascending; 7. contentType ascending;
 *  8. no cacheControl before any, then cacheControl ascending; 9. key ascending.
 */
export function compareWinner(a: Version, b: Version): number {
  const byTime = compareHlc(b.timestamp, a.timestamp);
  if (byTime !== 0) return byTime;
  const byOrigin = compareStrings(b.origin, a.origin);
  if (byOrigin !== 0) return byOrigin;
  const bySha = compareStrings(b.sha256, a.sha256);
  if (bySha !== 0) return bySha;
  if (a.tombstone !== b.tombstone) return a.tombstone ? -1 : 1;
  if (compareClocks(a.clock, b.clock) !== 'equal') return compareStrings(clockKey(a.clock), clockKey(b.clock));
  if (a.size !== b.size) return a.size < b.size ? -1 : 1;
  const byType = compareStrings(a.contentType, b.contentType);
  if (byType !== 0) return byType;
  if (a.cacheControl !== b.cacheControl) {
    if (a.cacheControl === undefined) return -1;
    if (b.cacheControl === undefined) return 1;
    return compareStrings(a.cacheControl, b.cacheControl);
  }
  return compareStrings(a.key, b.key);
}

/** Every field equal (clocks as clocks: a zero entry equals an absent one). */
export function sameVersion(a: Version, b: Version): boolean {
  return (
    a === b ||
    (a.key === b.key &&
      a.timestamp.wall === b.timestamp.wall &&
      a.timestamp.logical === b.timestamp.logical &&
      a.origin === b.origin &&
      a.sha256 === b.sha256 &&
      a.size === b.size &&
      a.contentType === b.contentType &&
      a.cacheControl === b.cacheControl &&
      a.tombstone === b.tombstone &&
      compareClocks(a.clock, b.clock) === 'equal')
  );
}

/**
 * x supersedes y: x's clock dominates y's, or the clocks are equal and x is
 * the better winner. A superseded version never survives a merge.
 */
export function supersedes(x: Version, y: Version): boolean {
  const order = compareClocks(x.clock, y.clock);
  return order === 'after' || (order === 'equal' && compareWinner(x, y) < 0);
}

function assertOneKey(versions: readonly Version[]): void {
  const first = versions[0];
  if (first === undefined) return;
  for (const v of versions) {
    if (v.key !== first.key) throw new RangeError(`a sibling set holds one key: got ${first.key} and ${v.key}`);
  }
}

/**
 * The canonical sibling set of any list of versions of one key: duplicates
 * and superseded versions removed, best winner first, at most MAX_SIBLINGS,
 * frozen. Use it to rebuild a set read from disk.
 * @throws RangeError when the versions are not all of one key.
 */
export function toSiblingSet(versions: readonly Version[]): SiblingSet {
  if (versions.length === 0) return EMPTY_SET;
  assertOneKey(versions);
  const sorted = [...versions].sort(compareWinner);
  const unique: Version[] = [];
  for (const v of sorted) {
    const prev = unique[unique.length - 1];
    if (prev === undefined || compareWinner(prev, v) !== 0) unique.push(v);
  }
  // In winner order, a version superseded through equal clocks always has its
  // superseder earlier; a dominating clock can sit anywhere, so check all.
  const kept = unique.filter((v) => !unique.some((w) => w !== v && supersedes(w, v)));
  return Object.freeze(kept.length > MAX_SIBLINGS ? kept.slice(0, MAX_SIBLINGS) : kept);
}

function sameMembers(a: SiblingSet, b: SiblingSet): boolean {
  return a.every((x) => b.some((y) => sameVersion(x, y))) && b.every((y) => a.some((x) => sameVersion(x, y)));
}

function sameSequence(a: SiblingSet, b: SiblingSet): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The receipt rule (SPEC §5): `v` is ignored when a member's clock dominates
 * or equals its own (with equal clocks and different content the better
 * winner is kept, whichever it is, so that merging stays commutative); `v`
 * replaces every member it dominates; otherwise it joins as a sibling. The
 * result is canonical (see toSiblingSet). `changed` is false when the result
 * has the same members as `set`; then `set` itself is returned if it was
 * already canonical and frozen.
 * @throws RangeError when `v` is of another key than the set.
 */
export function mergeVersion(set: SiblingSet, v: Version): { set: SiblingSet; changed: boolean } {
  const next = toSiblingSet([...set, v]);
  if (!sameMembers(next, set)) return { set: next, changed: true };
  return { set: Object.isFrozen(set) && sameSequence(next, set) ? set : next, changed: false };
}

/**
 * The union of two sibling sets, reduced to its maximal versions. Commutative,
 * associative and idempotent (up to the sibling bound).
 * @throws RangeError when the sets are of different keys.
 */
export function mergeSets(a: SiblingSet, b: SiblingSet): SiblingSet {
  return toSiblingSet([...a, ...b]);
}

/** The winner: the best maximal version by compareWinner; undefined for an empty set. */
export function pickWinner(set: SiblingSet): Version | undefined {
  return toSiblingSet(set)[0];
}

/** The winner unless it is a tombstone (the key reads as deleted). */
export function liveWinner(set: SiblingSet): Version | undefined {
  const w = pickWinner(set);
  return w === undefined || w.tombstone ? undefined : w;
}

/** The causal context of a set: the merge of every member's clock (send it to clients as `Vector-Clock`). */
export function contextOf(set: SiblingSet): VectorClock {
  return mergeClocks(...set.map((v) => v.clock));
}

/**
 * The causal weight of a set: the sum of its context's counters. A set that
 * causally supersedes another (each of the other's versions is dominated by
 * one of its own) has a context at least as large in every entry, so it
 * weighs at least as much, and more unless the contexts are equal. So a set
 * that weighs less than another is older than it or concurrent with it,
 * never newer: anti-entropy uses this to pull instead of push (proposal 0001).
 */
export function causalWeight(set: SiblingSet): number {
  let weight = 0;
  for (const counter of Object.values(contextOf(set))) weight += counter;
  return weight;
}

/**
 * The write rule (SPEC §5): the clock of a new write accepted by `nodeId` is
 * the merge of the clocks held for the key and of the client's context, with
 * nodeId's entry incremented. It dominates every version in `set`, so the
 * write supersedes them all at this node.
 * @throws VectorClockError when the client context or node id is malformed
 * or the clock would overflow its bounds.
 */
export function nextClock(set: SiblingSet, clientContext: VectorClock | undefined, nodeId: string): VectorClock {
  return incrementClock(mergeClocks(contextOf(set), clientContext ?? {}), nodeId);
}
