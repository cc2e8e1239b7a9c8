/**
 * The records of the metadata log (see proposals/0003-storage.md) and how a
 * replay turns them back into state. Each `k` record is a key's whole sibling
 * set, so replay is "last record per key wins".
 */
import type { Version } from '../consensus/types.js';
import { versionSchema } from '../consensus/schema.js';
import { toSiblingSet } from '../consensus/versions.js';
import type { KeyIndex } from './key-index.js';
import type { BodyRecord } from './types.js';
import { stageId } from './staged-writes.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export type LogRecord =
  | { t: 'k'; key: string; versions: Version[] }
  | { t: 'b'; sha: string; size: number; sums: string }
  | { t: 'x'; sha: string }
  /** the highest counter this node has given its own clock entry (survives tombstone collection) */
  | { t: 'c'; n: number }
  /** a version another node is writing with write copies > 1, held here but not visible (staged-writes.ts) */
  | { t: 's'; v: Version }
  /** a staged version forgotten: it arrived, was aborted, or was never committed */
  | { t: 'u'; id: string };

export function parseRecord(value: unknown): LogRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (r.t === 'k' && typeof r.key === 'string' && Array.isArray(r.versions)) {
    const versions: Version[] = [];
    for (const v of r.versions) {
      const parsed = versionSchema.safeParse(v);
      if (!parsed.success) return undefined;
      versions.push(parsed.data);
    }
    return { t: 'k', key: r.key, versions };
  }
  if (r.t === 'b' && typeof r.sha === 'string' && SHA256_HEX.test(r.sha) && Number.isSafeInteger(r.size) && typeof r.sums === 'string') {
    return { t: 'b', sha: r.sha, size: r.size as number, sums: r.sums };
  }
  if (r.t === 'x' && typeof r.sha === 'string' && SHA256_HEX.test(r.sha)) return { t: 'x', sha: r.sha };
  if (r.t === 'c' && Number.isSafeInteger(r.n)) return { t: 'c', n: r.n as number };
  if (r.t === 's') {
    const parsed = versionSchema.safeParse(r.v);
    return parsed.success ? { t: 's', v: parsed.data } : undefined;
  }
  if (r.t === 'u' && typeof r.id === 'string' && r.id.length <= 4096) return { t: 'u', id: r.id };
  return undefined;
}


/** What a replay rebuilds besides the key index. */
export interface ReplayedState {
  bodies: Map<string, BodyRecord>;
  /** the highest counter this node gave its own clock entry */
  ownCounter: number;
  /** staged versions not yet forgotten, by stage id */
  staged: Map<string, Version>;
}

/** Applies log records in order to `index`; returns the bodies and the node-wide counter. */
export function replayRecords(records: readonly LogRecord[], nodeId: string, index: KeyIndex): ReplayedState {
  const bodies = new Map<string, BodyRecord>();
  const staged = new Map<string, Version>();
  let ownCounter = 0;
  for (const record of records) {
    if (record.t === 'k') {
      if (record.versions.length === 0) index.delete(record.key);
      else index.set(record.key, toSiblingSet(record.versions));
      for (const v of record.versions) ownCounter = Math.max(ownCounter, v.clock[nodeId] ?? 0);
    } else if (record.t === 'b') bodies.set(record.sha, { sha256: record.sha, size: record.size, checksums: record.sums });
    else if (record.t === 'x') bodies.delete(record.sha);
    else if (record.t === 's') staged.set(stageId(record.v), record.v);
    else if (record.t === 'u') staged.delete(record.id);
    else ownCounter = Math.max(ownCounter, record.n);
  }
  return { bodies, ownCounter, staged };
}
