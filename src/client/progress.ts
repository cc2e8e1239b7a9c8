/**
 * A progress bar with rate and ETA for transfers, drawn by cli-progress on
 * stderr. It appears only on a terminal and only once a transfer has taken
 * more than a moment, so quick transfers and pipes stay quiet (and never
 * load cli-progress: it is imported only for a bar that may be drawn).
 */
import type * as CliProgress from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import bytes from 'bytes';

/** How long a transfer runs before its bar appears. */
const SHOW_AFTER_MS = 400;

export interface ProgressOptions {
  /** e.g. `put` or `get` */
  label: string;
  /** total bytes, when known */
  total?: number;
  /** defaults to whether stderr is a terminal */
  enabled?: boolean;
}

function human(n: number): string {
  return bytes.format(n, { decimalPlaces: 1 }) ?? `${n}B`;
}

export class Progress {
  private bar: SingleBar | undefined;
  private value = 0;
  private readonly startedAt = Date.now();
  private finished = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly drawing: Promise<typeof CliProgress> | undefined;

  constructor(private readonly options: ProgressOptions) {
    const enabled = options.enabled ?? process.stderr.isTTY === true;
    this.drawing = enabled ? import('cli-progress') : undefined;
    this.timer = enabled ? setTimeout(() => void this.show(), SHOW_AFTER_MS) : undefined;
    this.timer?.unref();
  }

  private payload(): { label: string; transferred: string; size: string; rate: string } {
    const seconds = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    return {
      label: this.options.label,
      transferred: human(this.value),
      size: this.options.total === undefined ? '?' : human(this.options.total),
      rate: `${human(this.value / seconds)}/s`,
    };
  }

  private async show(): Promise<void> {
    const drawing = await this.drawing?.catch(() => undefined);
    if (drawing === undefined || this.finished) return;
    const known = this.options.total !== undefined;
    this.bar = new drawing.SingleBar({
      stream: process.stderr,
      format: known
        ? '{label} {bar} {percentage}% | {transferred}/{size} | {rate} | ETA {eta_formatted}'
        : '{label} {transferred} | {rate}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 10,
    });
    this.bar.start(this.options.total ?? 0, this.value, this.payload());
  }

  /** `n` more bytes moved. */
  advance(n: number): void {
    this.value += n;
    this.bar?.update(this.value, this.payload());
  }

  /** Stops drawing (the last frame stays on screen); safe to call twice. */
  finish(): void {
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.bar !== undefined) {
      this.bar.update(this.value, this.payload());
      this.bar.stop();
      this.bar = undefined;
    }
  }
}
