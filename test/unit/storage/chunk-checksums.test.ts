import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { CHUNK_BYTES, ChunkChecksummer, chunkCount, packChecksums, unpackChecksums } from '../../../src/storage/chunk-checksums.js';

describe('ChunkChecksummer', () => {
  it('gives the same checksums however the bytes are split (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 * CHUNK_BYTES }), fc.array(fc.nat(CHUNK_BYTES), { maxLength: 8 }), (size, cuts) => {
      const data = Buffer.alloc(size, 0);
      for (let i = 0; i < size; i += 997) data[i] = i & 0xff;
      const whole = new ChunkChecksummer();
      whole.update(data);
      const split = new ChunkChecksummer();
      const points = [...new Set(cuts.map((c) => c % (size + 1)))].sort((a, b) => a - b);
      let at = 0;
      for (const p of points) { split.update(data.subarray(at, p)); at = p; }
      split.update(data.subarray(at));
      return whole.finish() === split.finish();
    }), { numRuns: 200 });
  });

  it('checksums each chunk with crc32', () => {
    const data = Buffer.alloc(CHUNK_BYTES + 10, 7);
    const c = new ChunkChecksummer();
    c.update(data);
    expect(unpackChecksums(c.finish())).toEqual([crc32(data.subarray(0, CHUNK_BYTES)), crc32(data.subarray(CHUNK_BYTES))]);
    expect(chunkCount(data.length)).toBe(2);
    expect(chunkCount(0)).toBe(0);
  });

  it('packs and unpacks', () => {
    fc.assert(fc.property(fc.array(fc.nat(0xffffffff)), (sums) => {
      expect(unpackChecksums(packChecksums(sums))).toEqual(sums);
    }));
  });
});
