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
});
