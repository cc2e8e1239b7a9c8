/**
 * Staged writes: versions another node is writing with `--write-copies` > 1,
 * held durably here but not visible (proposals/0010-placement.md, "Write
 * copies"). The writer streams the body and the version to W−1 owners; each
 * keeps both on disk as a staged version (log record `s`) and answers; only
 * then does the writer commit and answer its client. A staged version
 * becomes visible when the version itself arrives (gossip brings the
 * writer's commit) and is forgotten (record `u`) when it does, when the
 * writer says it aborted, or when the writer, asked later, does not have it.
 * It is promoted without the writer's word only if the writer is gone for
 * good (dead past the hand-off delay): then the write may have been
 * acknowledged, and this is the copy that must survive.
 *
 * Pure bookkeeping; the blob store logs the records and owns the bodies.
 */
import type { Version } from '../consensus/types.js';
import { clockKey } from '../consensus/vector-clock.js';
import { mergeVersion } from '../consensus/versions.js';
import type { SiblingSet } from '../consensus/types.js';

/** A staged version's identity: key, origin, clock and body. */
export function stageId(v: Version): string {
  return `${v.key}|${v.origin}|${clockKey(v.clock)}|${v.sha256}`;
}

export interface StagedEntry {
  readonly version: Version;
  /** local time it was staged (or replayed), for the resolution sweep */
  readonly since: number;
}

export class StagedWrites {
  private readonly entries = new Map<string, StagedEntry>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  has(v: Version): boolean {
    return this.entries.has(stageId(v));
  }

  /** false when full: the writer then gets too few copies and refuses its client */
  add(v: Version, now: number): boolean {
    if (this.entries.has(stageId(v))) return true;
    if (this.entries.size >= this.max) return false;
    this.entries.set(stageId(v), { version: v, since: now });
    return true;
  }

  remove(id: string): StagedEntry | undefined {
    const e = this.entries.get(id);
    this.entries.delete(id);
    return e;
  }

  values(): IterableIterator<StagedEntry> {
    return this.entries.values();
  }

  /** Staged versions of `key` that `set` already holds or dominates: they need staging no more. */
  settledBy(key: string, set: SiblingSet): string[] {
    const out: string[] = [];
    for (const [id, e] of this.entries) {
      if (e.version.key === key && !mergeVersion(set, e.version).changed) out.push(id);
    }
    return out;
  }
}
