/**
 * A hash tree over the keys a node holds, for anti-entropy (Tictac-style, as
 * in Riak's AAE): fanout 16, each level one more hex digit of sha256(key),
 * `depth` levels down to the leaf buckets. A key's digest is 64 bits of
 * sha256 over the key and its sibling set; a node's hash is the XOR of the
 * digests of every key below it, so it is independent of insertion order and
 * one change updates `depth + 1` nodes. Nodes are stored sparsely (only
 * non-empty ones), so a node with few keys costs little whatever the depth.
 *
 * Hashes are two uint32 halves (hi, lo) rather than a bigint: XOR on numbers
 * does not allocate.
 */
import { hash as oneShotHash } from 'node:crypto';
import { clockKey } from '../../consensus/vector-clock.js';
import type { SiblingSet } from '../../consensus/types.js';

export const TREE_FANOUT = 16;
export const MAX_TREE_DEPTH = 8;

/** A 64-bit hash as two uint32 halves. */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

export const ZERO_HASH: Hash64 = Object.freeze({ hi: 0, lo: 0 });

interface TreeNode {
  hi: number;
  lo: number;
  /** keys below this node */
  count: number;
  /** leaf nodes only: the keys in this bucket */
  keys?: Set<string>;
}

interface KeyEntry {
  readonly hi: number;
  readonly lo: number;
  /** index of the key's leaf bucket */
  readonly leaf: number;
}

/** sha256 as hex (one-shot: several times faster than createHash for short inputs). */
function sha256Hex(text: string): string {
  return oneShotHash('sha256', text, 'hex');
}

/** The first 32 bits of sha256(key): the key's position in the tree (its first 8 hex digits). */
export function keyPosition(key: string): number {
  return parseInt(sha256Hex(key).slice(0, 8), 16);
}

/**
 * The digest of one key's sibling set: 64 bits of sha256 over the key and
 * every member's (clockKey, sha256, tombstone), members ordered by clockKey
 * (unique within a set), so equal sets give equal digests on every node.
 * Undefined for an empty set (the key is not in the tree).
 */
export function siblingsDigest(key: string, siblings: SiblingSet): Hash64 | undefined {
  if (siblings.length === 0) return undefined;
  const parts = siblings.map((v) => `${clockKey(v.clock)}|${v.sha256}|${v.tombstone ? 1 : 0}`);
  parts.sort();
  const h = sha256Hex(`${key}\n${parts.join('\n')}`);
  return { hi: parseInt(h.slice(0, 8), 16), lo: parseInt(h.slice(8, 16), 16) };
}

export function hashHex(h: Hash64): string {
  return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
}

/** 16 hex digits → Hash64; undefined when malformed. */
export function parseHashHex(hex: string): Hash64 | undefined {
  if (!/^[0-9a-f]{16}$/.test(hex)) return undefined;
  return { hi: parseInt(hex.slice(0, 8), 16), lo: parseInt(hex.slice(8), 16) };
}

export function sameHash(a: Hash64, b: Hash64): boolean {
  return a.hi === b.hi && a.lo === b.lo;
}

export class MerkleTree {
  /** levels[l]: node index (the path's hex digits as a number) → node; level 0 is the root */
  private readonly levels: Map<number, TreeNode>[];
  private readonly entries = new Map<string, KeyEntry>();

  constructor(readonly depth: number) {
    if (!Number.isInteger(depth) || depth < 1 || depth > MAX_TREE_DEPTH) {
      throw new RangeError(`tree depth must be an integer in [1, ${MAX_TREE_DEPTH}] (got ${depth})`);
    }
    this.levels = Array.from({ length: depth + 1 }, () => new Map<number, TreeNode>());
  }

  /** Number of keys in the tree. */
  get size(): number {
    return this.entries.size;
  }

  /** Sets a key's digest, or removes the key (undefined). O(depth). */
  set(key: string, digest: Hash64 | undefined): void {
    const old = this.entries.get(key);
    if (old === undefined && digest === undefined) return;
    if (old !== undefined && digest !== undefined && sameHash(old, digest)) return;
    const leaf = old?.leaf ?? keyPosition(key) >>> (32 - 4 * this.depth);
    const dhi = ((old?.hi ?? 0) ^ (digest?.hi ?? 0)) >>> 0;
    const dlo = ((old?.lo ?? 0) ^ (digest?.lo ?? 0)) >>> 0;
    const dcount = (digest === undefined ? 0 : 1) - (old === undefined ? 0 : 1);
    if (digest === undefined) this.entries.delete(key);
    else this.entries.set(key, { hi: digest.hi, lo: digest.lo, leaf });

    for (let level = this.depth; level >= 0; level--) {
      const shift = 4 * (this.depth - level);
      const index = shift >= 32 ? 0 : leaf >>> shift;
      const nodes = this.levels[level] as Map<number, TreeNode>;
      let node = nodes.get(index);
      if (node === undefined) nodes.set(index, (node = { hi: 0, lo: 0, count: 0 }));
      node.hi = (node.hi ^ dhi) >>> 0;
      node.lo = (node.lo ^ dlo) >>> 0;
      node.count += dcount;
      if (level === this.depth) {
        if (dcount > 0) (node.keys ??= new Set()).add(key);
        else if (dcount < 0) node.keys?.delete(key);
      }
      if (node.count === 0) nodes.delete(index);
    }
  }

  /** The digest the tree holds for a key. */
  digest(key: string): Hash64 | undefined {
    const e = this.entries.get(key);
    return e === undefined ? undefined : { hi: e.hi, lo: e.lo };
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The leaf path (depth hex digits) a key falls in. */
  leafPath(key: string): string {
    const leaf = this.entries.get(key)?.leaf ?? keyPosition(key) >>> (32 - 4 * this.depth);
    return pathOf(leaf, this.depth);
  }

  /** The hash of the node at `path` (ZERO_HASH when empty or when the path is not in the tree). */
  hash(path: string): Hash64 {
    const node = this.node(path);
    return node === undefined ? ZERO_HASH : { hi: node.hi, lo: node.lo };
  }

  /** Keys below the node at `path`. */
  count(path: string): number {
    return this.node(path)?.count ?? 0;
  }

  /** The 16 children of an inner node, child 0 first (ZERO_HASH for empty ones). */
  children(path: string): Hash64[] {
    const level = path.length;
    if (level >= this.depth) throw new RangeError(`a leaf has no children (path "${path}")`);
    const nodes = this.levels[level + 1] as Map<number, TreeNode>;
    const base = indexOf(path) * TREE_FANOUT;
    const out: Hash64[] = [];
    for (let c = 0; c < TREE_FANOUT; c++) {
      const node = nodes.get(base + c);
      out.push(node === undefined ? ZERO_HASH : { hi: node.hi, lo: node.lo });
    }
    return out;
  }

  /** Up to `limit` keys below the node at `path`, in path order. */
  keysUnder(path: string, limit = Infinity): string[] {
    const out: string[] = [];
    this.collect(path.length, indexOf(path), limit, out);
    return out;
  }

  /** Every key in the tree (no particular order). */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Whether a path names a node of this tree (hex, at most depth digits). */
  isPath(path: string): boolean {
    return path.length <= this.depth && /^[0-9a-f]*$/.test(path);
  }

  private node(path: string): TreeNode | undefined {
    if (!this.isPath(path)) return undefined;
    return this.levels[path.length]?.get(indexOf(path));
  }

  private collect(level: number, index: number, limit: number, out: string[]): void {
    const node = this.levels[level]?.get(index);
    if (node === undefined || out.length >= limit) return;
    if (level === this.depth) {
      for (const key of node.keys ?? []) {
        if (out.length >= limit) return;
        out.push(key);
      }
      return;
    }
    for (let c = 0; c < TREE_FANOUT; c++) this.collect(level + 1, index * TREE_FANOUT + c, limit, out);
  }
}

function indexOf(path: string): number {
  return path.length === 0 ? 0 : parseInt(path, 16);
}

/** The hex path of node `index` at `level`. */
export function pathOf(index: number, level: number): string {
  return level === 0 ? '' : index.toString(16).padStart(level, '0');
}
