import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_SHA256 } from '../../../src/consensus/schema.js';
import type { Version } from '../../../src/consensus/types.js';
import { MerkleTree, ZERO_HASH, hashHex, parseHashHex, pathOf, siblingsDigest, type Hash64 } from '../../../src/gossip/core/merkle-tree.js';

const KEYS = Array.from({ length: 40 }, (_, i) => `${i.toString(16).padStart(8, '0')}-1111-4222-a333-444444444444`);

const hashArb: fc.Arbitrary<Hash64> = fc.record({ hi: fc.nat({ max: 0xffffffff }), lo: fc.nat({ max: 0xffffffff }) });
/** set (or, with null, remove) one of KEYS */
const opArb = fc.tuple(fc.nat({ max: KEYS.length - 1 }), fc.option(hashArb, { nil: undefined }));

/** Every node of a depth-2 tree, plus the leaf of every key, as text. */
function snapshot(tree: MerkleTree): string {
  const lines: string[] = [];
  for (let level = 0; level < Math.min(tree.depth, 2) + 1; level++) {
    for (let i = 0; i < 16 ** level; i++) {
      const path = pathOf(i, level);
      if (tree.count(path) > 0) lines.push(`${path}:${hashHex(tree.hash(path))}:${tree.count(path)}`);
    }
  }
  for (const key of KEYS) {
    const leaf = tree.leafPath(key);
    lines.push(`${leaf}:${hashHex(tree.hash(leaf))}:${tree.count(leaf)}:${tree.keysUnder(leaf).sort().join(',')}`);
  }
  return lines.join('\n');
}

function version(fields: Partial<Version>): Version {
  return {
    key: KEYS[0] as string,
    clock: { n0000000000000001: 1 },
    timestamp: { wall: 1_000, logical: 0 },
    origin: 'n0000000000000001',
    sha256: 'a'.repeat(64),
    size: 1,
    contentType: 'application/octet-stream',
    tombstone: false,
    ...fields,
  };
}

describe('MerkleTree', () => {
  it('incremental updates give the same tree as a rebuild from the final state', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.integer({ min: 1, max: 4 }), (ops, depth) => {
        const incremental = new MerkleTree(depth);
        const final = new Map<string, Hash64>();
        for (const [i, digest] of ops) {
          const key = KEYS[i] as string;
          incremental.set(key, digest);
          if (digest === undefined) final.delete(key);
          else final.set(key, digest);
        }
        const rebuilt = new MerkleTree(depth);
        for (const [key, digest] of final) rebuilt.set(key, digest);
        expect(incremental.size).toBe(final.size);
        expect(snapshot(incremental)).toBe(snapshot(rebuilt));
        if (final.size === 0) expect(incremental.hash('')).toEqual(ZERO_HASH);
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order keys arrive in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.nat({ max: KEYS.length - 1 }), hashArb), { selector: ([i]) => i, maxLength: KEYS.length }),
        fc.nat(),
        (entries, seed) => {
          const a = new MerkleTree(3);
          const b = new MerkleTree(3);
          for (const [i, h] of entries) a.set(KEYS[i] as string, h);
          const shuffled = [...entries].sort((x, y) => ((x[0] * 7919 + seed) % 101) - ((y[0] * 7919 + seed) % 101));
          for (const [i, h] of shuffled) b.set(KEYS[i] as string, h);
          expect(snapshot(a)).toBe(snapshot(b));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps every inner node the XOR of its children, with counts summing up', () => {
    const tree = new MerkleTree(3);
    KEYS.forEach((key, i) => tree.set(key, { hi: i * 2654435761 >>> 0, lo: (i + 1) * 40503 }));
    for (const parent of ['', '0', '7', 'f', '3a']) {
      const children = tree.children(parent);
      const xor = children.reduce((acc, h) => ({ hi: (acc.hi ^ h.hi) >>> 0, lo: (acc.lo ^ h.lo) >>> 0 }), ZERO_HASH);
      expect(xor).toEqual(tree.hash(parent));
      const counts = children.reduce((n, _h, c) => n + tree.count(parent + c.toString(16)), 0);
      expect(counts).toBe(tree.count(parent));
    }
    expect(tree.count('')).toBe(KEYS.length);
  });

  it('lists exactly the keys under a path, and a key under its leaf path', () => {
    const tree = new MerkleTree(2);
    for (const key of KEYS) tree.set(key, { hi: 1, lo: 2 });
    for (const key of KEYS) expect(tree.keysUnder(tree.leafPath(key))).toContain(key);
    for (const prefix of ['', '0', 'a', 'f']) {
      const expected = KEYS.filter((k) => tree.leafPath(k).startsWith(prefix)).sort();
      expect(tree.keysUnder(prefix).sort()).toEqual(expected);
    }
    expect(tree.keysUnder('', 5)).toHaveLength(5);
  });

  it('treats paths outside the tree as empty and refuses bad depths', () => {
    const tree = new MerkleTree(2);
    tree.set(KEYS[0] as string, { hi: 5, lo: 6 });
    expect(tree.hash('abc')).toEqual(ZERO_HASH); // deeper than the tree
    expect(tree.count('zz')).toBe(0);
    expect(tree.isPath('abc')).toBe(false);
    expect(() => new MerkleTree(0)).toThrow(RangeError);
    expect(() => new MerkleTree(9)).toThrow(RangeError);
    expect(() => tree.children('ab')).toThrow(RangeError);
  });

  it('removing every key brings the root back to zero', () => {
    const tree = new MerkleTree(4);
    KEYS.forEach((key, i) => tree.set(key, { hi: i + 1, lo: i * 3 }));
    for (const key of KEYS) tree.set(key, undefined);
    expect(tree.hash('')).toEqual(ZERO_HASH);
    expect(tree.size).toBe(0);
    expect(tree.count('')).toBe(0);
  });

  it('round-trips 64-bit hashes through hex', () => {
    fc.assert(
      fc.property(hashArb, (h) => {
        expect(parseHashHex(hashHex(h))).toEqual(h);
      }),
    );
    expect(parseHashHex('xyz')).toBeUndefined();
  });
});

describe('siblingsDigest', () => {
  const a = version({ clock: { n0000000000000001: 2 } });
  const b = version({ clock: { n0000000000000002: 1 }, origin: 'n0000000000000002', sha256: 'b'.repeat(64) });

  it('is the same for the same set in any order, on any node', () => {
    expect(siblingsDigest(a.key, [a, b])).toEqual(siblingsDigest(a.key, [b, a]));
    // equal copies (as another node holds them) give the same digest
    expect(siblingsDigest(a.key, [{ ...a, clock: { ...a.clock } }, { ...b }])).toEqual(siblingsDigest(a.key, [a, b]));
  });

  it('differs when the set, the key or a tombstone flag differs; undefined when empty', () => {
    const ab = siblingsDigest(a.key, [a, b]);
    expect(siblingsDigest(a.key, [a])).not.toEqual(ab);
    expect(siblingsDigest(KEYS[1] as string, [a, b])).not.toEqual(ab);
    const dead = version({ clock: a.clock, sha256: EMPTY_SHA256, size: 0, tombstone: true });
    expect(siblingsDigest(a.key, [dead])).not.toEqual(siblingsDigest(a.key, [version({ clock: a.clock, sha256: EMPTY_SHA256, size: 0 })]));
    expect(siblingsDigest(a.key, [])).toBeUndefined();
  });
});
