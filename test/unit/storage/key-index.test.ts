import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyIndex } from '../../../src/storage/key-index.js';

describe('KeyIndex.keysAfter', () => {
  it('lists keys in order after the cursor, following adds and deletes (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.uuid())), fc.option(fc.uuid()), (ops, after) => {
      const index = new KeyIndex();
      const model = new Set<string>();
      for (const [add, key] of ops) {
        if (add) { index.set(key, []); model.add(key); } else { index.delete(key); model.delete(key); }
        index.keysAfter(undefined).next();
      }
      const expected = [...model].sort().filter((k) => after === null || k > after);
      expect([...index.keysAfter(after ?? undefined)]).toEqual(expected);
    }), { numRuns: 500 });
  });
});
