/**
 * Splitting sibling sets into `versions` messages within LIMITS: at most
 * LIMITS.maxVersions versions and a byte budget under LIMITS.maxMessageBytes.
 * A key's set is never split, so every `versions` message carries, for each
 * key it names, the sender's whole sibling set (the receiver relies on this
 * to see what the sender lacks).
 */
import type { SiblingSet, Version } from '../../consensus/types.js';
import { LIMITS } from './messages.js';

/** Room kept for the envelope, `held` (≤ 256 × 67 bytes) and piggybacked membership updates. */
const RESERVED_BYTES = 64 * 1024;

/**
 * An upper bound on a version's JSON size (a clock entry is at most ~34
 * bytes; the origin's key and signature add ~165, a token id its length + 13).
 */
export function versionBytesBound(v: Version): number {
  const signed = (v.originKey === undefined ? 0 : 60) + (v.signature === undefined ? 0 : 105) + (v.tokenId === undefined ? 0 : v.tokenId.length + 14);
  return 320 + v.contentType.length + (v.cacheControl?.length ?? 0) + 40 * Object.keys(v.clock).length + signed;
}

/** Groups whole sets into batches that each fit one message. */
export function batchSets(sets: readonly SiblingSet[]): Version[][] {
  const batches: Version[][] = [];
  let current: Version[] = [];
  let bytes = 0;
  const budget = LIMITS.maxMessageBytes - RESERVED_BYTES;
  for (const set of sets) {
    if (set.length === 0) continue;
    const setBytes = set.reduce((n, v) => n + versionBytesBound(v), 0);
    if (current.length > 0 && (current.length + set.length > LIMITS.maxVersions || bytes + setBytes > budget)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(...set.slice(0, LIMITS.maxVersions));
    bytes += setBytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
