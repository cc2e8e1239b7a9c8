/**
 * What a chaos run records: every client operation with its timing and
 * outcome, and, after the faults, every node's final versions of every key
 * and a final read of every key from every node. Plain data: the checker
 * (checker.ts) works on it without I/O.
 */
import { clockKey, normalizeClock } from '../../src/consensus/vector-clock.js';

export type OpKind = 'put' | 'delete' | 'get';

/**
 * `ok`: a definite answer the operation succeeded (2xx; for a GET, 200 or 404);
 * `failed`: a definite answer it did not (4xx/5xx);
 * `unknown`: no answer (timeout, connection reset): a write may or may not have happened.
 */
export type Outcome = 'ok' | 'failed' | 'unknown';

export interface OpRecord {
  seq: number;
  client: number;
  /** index of the node the client talked to */
  node: number;
  kind: OpKind;
  key: string;
  /** ms since the run began */
  startMs: number;
  endMs: number;
  outcome: Outcome;
  status?: number;
  error?: string;
  /** put: the write's id (in the body header) and the sha256 of the whole body */
  writeId?: string;
  sha256?: string;
  size?: number;
  /** put: the version's clock from the answer; delete: the Vector-Clock header of the 204 */
  clock?: Record<string, number>;
  /** the Vector-Clock context the client sent, if any */
  context?: Record<string, number>;
  /** get 200: the write whose body was served, and the sha256 of the bytes */
  servedWriteId?: string;
  servedSha256?: string;
  /** get 200: what was wrong with the served body (partial, corrupt, not what the ETag says) */
  problem?: string;
}

/** One version as GET /blobs/{guid}/versions describes it. */
export interface FinalVersion {
  sha256: string;
  tombstone: boolean;
  clock: Record<string, number>;
  origin: string;
  hlc: { wall: number; logical: number };
  size: number;
  contentType: string;
  cacheControl?: string;
  /** whether the node answering holds the body */
  bodyHeld: boolean;
  /**
   * live versions: the ids of the nodes that own the body, as the answering
   * node sees the cluster (placement, proposals/0010-placement.md); absent
   * from a node that does not name owners, which counts as every node owning it
   */
  owners?: string[];
}

/** One node's versions of one key, winner first; empty when the node answered 404. */
export interface FinalKeyState {
  node: number;
  versions: FinalVersion[];
}

/** A GET of one key from one node after convergence. */
export interface FinalRead {
  node: number;
  key: string;
  status: number;
  servedWriteId?: string;
  /** status 200: the sha256 of the bytes served */
  servedSha256?: string;
  problem?: string;
}

/**
 * A version's identity for comparing what nodes hold: clock, sha256,
 * tombstone flag, origin and HLC timestamp (not `bodyHeld` or `owners`,
 * which are each node's own).
 */
export function versionIdentity(v: FinalVersion): string {
  return `${clockKey(normalizeClock(v.clock))}|${v.sha256}|${v.tombstone ? 't' : 'l'}|${v.origin}|${v.hlc.wall}.${v.hlc.logical}`;
}
