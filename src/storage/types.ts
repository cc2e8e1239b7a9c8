/**
 * What the storage engine offers the rest of the node. The HTTP layer and the
 * gossip layer see only these shapes.
 */
import type { Readable } from 'node:stream';
import type { SiblingSet, Version, VectorClock } from '../consensus/types.js';

export interface StoreOptions {
  /** root of everything this node keeps on disk */
  dataDir: string;
  /** largest body accepted, in bytes */
  maxBlobBytes: number;
  /** total body bytes this node may keep */
  quotaBytes: number;
  /** how long a tombstone is kept before it may be collected (SPEC §5) */
  tombstoneGraceMs: number;
  /** staged versions held at most (write copies > 1 from other nodes) */
  maxStagedVersions?: number | undefined;
}

/** A stored body: its identity and the per-chunk checksums taken as it was written. */
export interface BodyRecord {
  readonly sha256: string;
  readonly size: number;
  /** crc32 per chunk, packed (see chunk-checksums.ts) */
  readonly checksums: string;
}

/** When a write's preconditions are checked: before the body streams in, and again at commit. */
export type CheckPhase = 'before-body' | 'commit';

export interface PutRequest {
  key: string;
  body: Readable;
  contentType: string;
  cacheControl?: string | undefined;
  /** the client's causal context (Vector-Clock header), if it sent one */
  context?: VectorClock | undefined;
  /** the client's expected sha256 of the body, if it sent one */
  expectedSha256?: string | undefined;
  /** throws to refuse the write given the key's current siblings */
  check?: ((current: SiblingSet, phase: CheckPhase) => void) | undefined;
  /** copies elsewhere before the commit (write copies > 1); throws to refuse the write, leaving nothing */
  replicate?: Replicate | undefined;
  /** the id of the client token that authorised the write, put into the (signed) version; absent for an anonymous write */
  tokenId?: string | undefined;
}

/**
 * Called under the key's lock with the version about to be committed and a
 * way to read its body (undefined for a tombstone): resolves once enough other
 * nodes hold both durably, throws to abort the write (nothing is committed).
 */
export type Replicate = (version: Version, body: (() => Readable) | undefined) => Promise<void>;

export interface WriteResult {
  version: Version;
  /** the key had no live version before this write */
  created: boolean;
  /** every sibling after the write (winner first) */
  siblings: SiblingSet;
}

export interface DeleteRequest {
  key: string;
  context?: VectorClock | undefined;
  check?: ((current: SiblingSet, phase: CheckPhase) => void) | undefined;
  replicate?: Replicate | undefined;
  /** the id of the client token that authorised the delete, put into the (signed) tombstone */
  tokenId?: string | undefined;
}

export interface ListPage {
  items: { id: string; etag: string; size: number; contentType: string }[];
  nextCursor: string | undefined;
}

export interface StoreStats {
  /** keys whose winner is live */
  liveKeys: number;
  /** keys known, including deleted ones awaiting collection */
  keys: number;
  /** bodies on disk, and their bytes */
  bodies: number;
  bodyBytes: number;
  quotaBytes: number;
  /** metadata log size in bytes */
  metaLogBytes: number;
  corruptBodiesDetected: number;
  /** concurrent versions kept as siblings (SPEC §5) */
  conflictsDetected: number;
  /** sibling sets a later write resolved to one version */
  conflictsResolved: number;
  /** versions other nodes are writing with write copies > 1, held here, not yet visible */
  stagedVersions: number;
}

export interface BodySource {
  /** verified stream of bytes [start, end] */
  open(start: number, end: number): Promise<Readable>;
}
