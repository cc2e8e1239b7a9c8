/**
 * The pass-through every transferred byte goes through: it hashes (sha256),
 * counts, feeds the progress bar, and aborts the transfer when no byte has
 * moved for the stall timeout.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ClientError, EXIT } from './errors.js';
import type { Progress } from './progress.js';

export class Meter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly what: string,
    private readonly stallMs: number,
    private readonly abort: AbortController,
    private readonly progress: Progress,
  ) {
    super();
    this.arm();
  }

  private arm(): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      const err = new ClientError(`${this.what}: the transfer stalled (no bytes for ${this.stallMs / 1000} s)`, EXIT.unreachable);
      this.abort.abort(err);
      this.destroy(err);
    }, this.stallMs);
    this.watchdog.unref();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    this.progress.advance(chunk.length);
    this.arm();
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.stop();
    done();
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.stop();
    done(err);
  }

  /** Stops the stall watchdog and the progress bar. */
  stop(): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.progress.finish();
  }

  get bytes(): number {
    return this.count;
  }

  /** hex sha256 of everything that passed; call once, after the end */
  digest(): string {
    return this.hash.digest('hex');
  }
}
