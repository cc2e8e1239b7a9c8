/**
 * Upload pacing: a large upload is never cut off by a fixed deadline, but one
 * that falls below a minimum rate over a window is (CDN_ERR_UPLOAD_STALLED),
 * and a client that disconnects mid-body aborts the write
 * (CDN_ERR_UPLOAD_ABORTED). Either way the store removes its temp file.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { CdnError } from '../errors.js';

export class UploadGuard extends Transform {
  private windowBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(req: IncomingMessage, minBytesPerSecond: number, windowMs: number) {
    super();
    const minPerWindow = (minBytesPerSecond * windowMs) / 1000;
    this.timer = setInterval(() => {
      if (this.windowBytes < minPerWindow) {
        this.destroy(new CdnError('CDN_ERR_UPLOAD_STALLED', `upload fell below ${minBytesPerSecond} bytes/s over ${windowMs} ms`));
      }
      this.windowBytes = 0;
    }, windowMs);
    this.timer.unref();
    const onAborted = (): void => {
      if (!req.complete) this.destroy(new CdnError('CDN_ERR_UPLOAD_ABORTED', 'the client closed the connection mid-upload'));
    };
    req.once('aborted', onAborted);
    req.once('close', onAborted);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.windowBytes += chunk.length;
    done(null, chunk);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    clearInterval(this.timer);
    cb(err);
  }

  override _flush(cb: TransformCallback): void {
    clearInterval(this.timer);
    cb();
  }
}
