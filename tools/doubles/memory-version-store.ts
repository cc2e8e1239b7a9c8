/**
 * An in-memory VersionStore for unit tests and the simulator: sibling sets
 * merged with the consensus receipt rule (mergeVersion), bodies modelled as
 * a set of sha256s. Same contract as the real BlobStore's slice: applyRemote
 * resolves with the versions adopted (new and not dominated), and listeners
 * hear of every change to a key's set.
 */
import { EMPTY_SHA256 } from '../../src/consensus/schema.js';
import type { SiblingSet, Version } from '../../src/consensus/types.js';
import { mergeVersion, sameVersion } from '../../src/consensus/versions.js';
import type { VersionStore } from '../../src/gossip/core/types.js';

type ChangeListener = (key: string, siblings: SiblingSet) => void;

export class MemoryVersionStore implements VersionStore {
  private readonly sets = new Map<string, SiblingSet>();
  private readonly bodies = new Set<string>();
  private readonly listeners: ChangeListener[] = [];

  siblings(key: string): SiblingSet {
    return this.sets.get(key) ?? [];
  }

  async applyRemote(versions: readonly Version[]): Promise<Version[]> {
    return this.merge(versions);
  }

  /**
   * A write accepted by this node's client API (the caller built the version
   * with the write rule): merged like any version, and its body is held
   * (unless `withBody` is false: a store preloaded with metadata only).
   * Returns whether the store changed.
   */
  putLocal(version: Version, withBody = true): boolean {
    if (withBody && !version.tombstone) this.bodies.add(version.sha256);
    return this.merge([version]).length > 0;
  }

  hasBody(sha256: string): boolean {
    return sha256 === EMPTY_SHA256 || this.bodies.has(sha256);
  }

  addBody(sha256: string): void {
    this.bodies.add(sha256);
  }

  async forgetKey(key: string): Promise<void> {
    this.forget(key);
  }

  async dropBody(sha256: string): Promise<void> {
    this.bodies.delete(sha256);
  }

  /** Bodies held. */
  get bodyCount(): number {
    return this.bodies.size;
  }

  keys(): IterableIterator<string> {
    return this.sets.keys();
  }

  /** Number of keys held. */
  get size(): number {
    return this.sets.size;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** Drops a key entirely, as tombstone collection does. */
  forget(key: string): void {
    if (!this.sets.delete(key)) return;
    this.emit(key, []);
  }

  private merge(versions: readonly Version[]): Version[] {
    const adopted: Version[] = [];
    const changed = new Set<string>();
    for (const v of versions) {
      const current = this.siblings(v.key);
      if (current.some((x) => sameVersion(x, v))) continue;
      const { set, changed: didChange } = mergeVersion(current, v);
      if (!didChange) continue;
      this.sets.set(v.key, set);
      changed.add(v.key);
      adopted.push(v);
    }
    for (const key of changed) this.emit(key, this.siblings(key));
    // adopted = new and still in the final set (a later one in the batch may supersede it)
    return adopted.filter((v) => this.siblings(v.key).some((x) => sameVersion(x, v)));
  }

  private emit(key: string, set: SiblingSet): void {
    for (const listener of this.listeners) listener(key, set);
  }
}
