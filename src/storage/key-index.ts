/**
 * The in-memory index: key → sibling set, with key order kept for listing.
 * The sorted key array is rebuilt only when the key set changed since the
 * last listing, so writes to existing keys cost nothing extra.
 */
import type { SiblingSet } from '../consensus/types.js';

export class KeyIndex {
  private readonly sets = new Map<string, SiblingSet>();
  private sorted: string[] | undefined;

  get size(): number {
    return this.sets.size;
  }

  get(key: string): SiblingSet | undefined {
    return this.sets.get(key);
  }

  set(key: string, set: SiblingSet): void {
    if (!this.sets.has(key)) this.sorted = undefined;
    this.sets.set(key, set);
  }

  delete(key: string): void {
    if (this.sets.delete(key)) this.sorted = undefined;
  }

  keys(): IterableIterator<string> {
    return this.sets.keys();
  }

  values(): IterableIterator<SiblingSet> {
    return this.sets.values();
  }

  entries(): IterableIterator<[string, SiblingSet]> {
    return this.sets.entries();
  }

  /** Keys in ascending order, strictly after `after` when given. */
  *keysAfter(after: string | undefined): Generator<string> {
    this.sorted ??= [...this.sets.keys()].sort();
    const keys = this.sorted;
    let lo = 0;
    if (after !== undefined) {
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((keys[mid] as string) <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    for (let i = lo; i < keys.length; i++) {
      const key = keys[i] as string;
      if (this.sets.has(key)) yield key;
    }
  }
}
