/** What the blob handlers need, and nothing more. */
import type { Readable } from 'node:stream';
import type { Version } from '../consensus/types.js';
import type { Replicate } from '../storage/types.js';
import type { Logger } from '../log.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { BodyCache } from './body-cache.js';
import type { NodeMetrics } from './metrics.js';
import type { ClientAuth } from '../auth/guard.js';

/** What the blob API asks of the cluster (absent for a node running alone). */
export interface ClusterHooks {
  /** a client wrote this version here: spread it */
  published(version: Version): void;
  /** fetch the body of a version known here from a peer that holds it, when this node keeps it; true once held */
  obtainBody(version: Version): Promise<boolean>;
  /** bytes [start, end] of a body not held here, streamed from an owner and verified as they pass */
  openRemoteBody(version: Version, start: number, end: number): Promise<Readable>;
  /** with write copies > 1: copies the version to other nodes before it is committed here (undefined: no copies to wait for) */
  replicate?: Replicate | undefined;
  /** the nodes that own a body by this node's view, best first */
  owners(sha256: string): readonly string[];
  /** a read used this body, held here: the edge cache keeps the most recently read */
  touched(sha256: string): void;
  /** ask a few peers about a key never heard of here; true if any knew it */
  lookup(key: string): Promise<boolean>;
  /**
   * while a pull-only rejoin holds `key` back (its versions may be of a blob
   * deleted while this node was away), resolves once witnesses have settled
   * it, or after a bound, with whether it is still held back; undefined when
   * nothing is held back
   */
  settleRejoin(key: string): Promise<boolean> | undefined;
  /**
   * why writes are refused here right now (this node's wall clock disagrees
   * with most of its peers: its versions would be stamped wrong, and refused
   * by them), or undefined when they are welcome
   */
  writeRefused(): string | undefined;
}

export interface BlobApiContext {
  store: BlobStore;
  cache: BodyCache;
  logger: Logger;
  metrics: NodeMetrics;
  /** Cache-Control for blobs whose writer sent none */
  defaultCacheControl: string;
  /** an upload slower than this many bytes per second over `stallWindowMs` is cut off */
  minUploadBytesPerSecond: number;
  stallWindowMs: number;
  maxBlobBytes: number;
  cluster?: ClusterHooks | undefined;
  /** client tokens (--auth-public-key); undefined: anonymous access */
  auth?: ClientAuth | undefined;
}
