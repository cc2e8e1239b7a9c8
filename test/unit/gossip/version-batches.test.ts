/**
 * The byte bound batching uses (version-batches.ts) holds for signed
 * versions too: a version's JSON, with its origin key, signature and the
 * longest token id, never exceeds versionBytesBound, and a full batch of the
 * largest signed versions fits one message under LIMITS.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/gossip/core/messages.js';
import { batchSets, versionBytesBound } from '../../../src/gossip/core/version-batches.js';
import type { Version } from '../../../src/consensus/types.js';
import { MAX_HEADER_FIELD_CHARS } from '../../../src/consensus/schema.js';
import { MAX_CLOCK_COUNTER } from '../../../src/consensus/vector-clock.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { signVersion } from '../../../src/identity/version-signature.js';

const origin = generateIdentity();

function largest(i: number, entries: number): Version {
  const clock: Record<string, number> = { [origin.id]: MAX_CLOCK_COUNTER };
  for (let e = 1; e < entries; e++) clock[`n${e.toString(16).padStart(16, '0')}`] = MAX_CLOCK_COUNTER;
  return signVersion(origin, {
    key: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, clock,
    timestamp: { wall: Number.MAX_SAFE_INTEGER, logical: 65_535 }, origin: origin.id, sha256: 'f'.repeat(64), size: Number.MAX_SAFE_INTEGER,
    contentType: '~'.repeat(MAX_HEADER_FIELD_CHARS), cacheControl: '~'.repeat(MAX_HEADER_FIELD_CHARS), tombstone: false, tokenId: 'T'.repeat(64),
  });
}

describe('versionBytesBound with signed versions', () => {
  it.each([1, 8, 256])('bounds the JSON of the largest signed version with %i clock entries', (entries) => {
    const v = largest(0, entries);
    expect(JSON.stringify(v).length).toBeLessThanOrEqual(versionBytesBound(v));
  });

  it('a batch of the largest signed versions fits one message', () => {
    const sets = Array.from({ length: 600 }, (_, i) => [largest(i, 4)]);
    const batches = batchSets(sets);
    expect(batches.length).toBeGreaterThan(1);
    for (const versions of batches) {
      expect(versions.length).toBeLessThanOrEqual(LIMITS.maxVersions);
      const message = JSON.stringify({ v: 2, from: origin.id, type: 'versions', versions, held: Array.from({ length: LIMITS.maxHeld }, () => 'f'.repeat(64)), hops: LIMITS.maxHops });
      expect(message.length).toBeLessThanOrEqual(LIMITS.maxMessageBytes);
    }
  });
});
