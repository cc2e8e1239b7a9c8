/**
 * A bounded in-memory cache of small, verified bodies, keyed by sha256.
 * Bodies are content-addressed and immutable, so an entry can never be
 * stale; it is only evicted (least recently used, bounded by bytes).
 */
import { LRUCache } from 'lru-cache';

export class BodyCache {
  private readonly lru: LRUCache<string, Buffer> | undefined;

  constructor(readonly maxBytes: number, readonly maxItemBytes: number) {
    this.lru = maxBytes > 0 ? new LRUCache<string, Buffer>({ maxSize: maxBytes, sizeCalculation: (b) => Math.max(1, b.length) }) : undefined;
  }

  has(sha256: string): boolean {
    return this.lru?.has(sha256) ?? false;
  }

  get(sha256: string): Buffer | undefined {
    return this.lru?.get(sha256);
  }

  /** Whether a body of this size is worth caching. */
  fits(size: number): boolean {
    return this.lru !== undefined && size <= this.maxItemBytes;
  }

  set(sha256: string, body: Buffer): void {
    if (this.fits(body.length)) this.lru?.set(sha256, body);
  }

  delete(sha256: string): void {
    this.lru?.delete(sha256);
  }

  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }
}
