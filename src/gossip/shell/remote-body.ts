/**
 * A body streamed from a peer straight to a client (a read on a node that
 * neither owns the body nor has room to cache it). The peer sends the whole
 * body; every byte is hashed as it passes, only bytes [start, end] go on,
 * and the last piece is held back until the sha256 has been checked at the
 * end. So a client never receives a complete wrong body: on a mismatch the
 * stream fails before its last byte, and the client sees a short body against
 * its Content-Length (the rule for corruption found deep in a local body,
 * proposals/0003-storage.md). Bodies small enough for the memory cache are
 * read whole and checked before any header is sent (src/http/blob-read.ts).
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CdnError } from '../../errors.js';

export class VerifiedSlice extends Transform {
  private readonly hash = createHash('sha256');
  private offset = 0;
  private held: Buffer | undefined;

  constructor(
    private readonly sha256: string,
    private readonly size: number,
    private readonly first: number,
    private readonly last: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    const from = this.offset;
    this.offset += chunk.length;
    if (this.offset > this.size) {
      done(new CdnError('CDN_ERR_BAD_DIGEST', `body ${this.sha256} from a peer is longer than ${this.size} bytes`));
      return;
    }
    const lo = Math.max(this.first, from);
    const hi = Math.min(this.last + 1, this.offset);
    if (lo < hi) {
      if (this.held !== undefined) this.push(this.held);
      this.held = chunk.subarray(lo - from, hi - from);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    const digest = this.hash.digest('hex');
    if (this.offset !== this.size || digest !== this.sha256) {
      done(new CdnError('CDN_ERR_BAD_DIGEST', `body from a peer hashed to ${digest} (${this.offset} bytes), expected ${this.sha256} (${this.size} bytes)`));
      return;
    }
    if (this.held !== undefined) this.push(this.held);
    done();
  }
}
