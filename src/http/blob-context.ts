/** What the blob handlers need, and nothing more. */
import type { Logger } from '../log.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { BodyCache } from './body-cache.js';
import type { NodeMetrics } from './metrics.js';

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
}
