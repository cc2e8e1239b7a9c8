/**
 * Reads during a pull-only rejoin (proposals/0010-placement.md, "Tombstones").
 * A node back from longer than the tombstone grace holds back its old keys
 * until witnesses vouch for them or it forgets them (core/tombstones.ts): they
 * may be keys deleted, and their tombstones collected, while it was away. The
 * data plane does not send them; this makes a client's read wait too, so the
 * node does not serve a blob the cluster deleted. The wait asks the witnesses
 * about the key at once and is bounded: if they have not settled it in time,
 * the read answers 503 CDN_ERR_NOT_READY (src/http/blob-read.ts) rather than
 * serve a version that may have been deleted.
 */
import type { Tombstones } from '../core/tombstones.js';

export class RejoinReads {
  /** start() has decided whether this node rejoins pull-only */
  private decided = false;
  private markDecided: () => void = () => undefined;
  private readonly decision = new Promise<void>((resolve) => { this.markDecided = resolve; });
  /** reads waiting for a held-back key to be settled */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly tombstones: Pick<Tombstones, 'mayOffer' | 'askNow' | 'onSettled'>,
    /** the longest a read waits for the witnesses (runtime.lookupTimeoutMs) */
    private readonly timeoutMs: number,
  ) {
    tombstones.onSettled((key) => {
      const waiting = this.waiters.get(key);
      this.waiters.delete(key);
      for (const wake of waiting ?? []) wake();
    });
  }

  /** The runtime has started: whether it rejoins pull-only is known. */
  started(): void {
    this.decided = true;
    this.markDecided();
  }

  /**
   * Undefined when `key` is not held back (the read goes on at once); else a
   * promise that resolves once the witnesses have settled it (vouched for:
   * the read serves it; forgotten: the read finds nothing here) or the bound
   * has passed, with whether the key is still held back. Before start() has
   * decided, every read waits for it.
   */
  settle(key: string): Promise<boolean> | undefined {
    if (this.decided && this.tombstones.mayOffer(key)) return undefined;
    return this.wait(key).then(() => !this.tombstones.mayOffer(key));
  }

  private async wait(key: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs);
      timer.unref();
    });
    let wake: (() => void) | undefined;
    try {
      await Promise.race([this.decision, bound]);
      if (!this.decided || this.tombstones.mayOffer(key)) return;
      const settled = new Promise<void>((resolve) => { wake = resolve; });
      const waiting = this.waiters.get(key) ?? new Set<() => void>();
      if (wake !== undefined) waiting.add(wake);
      this.waiters.set(key, waiting);
      this.tombstones.askNow(key);
      await Promise.race([settled, bound]);
    } finally {
      clearTimeout(timer);
      const waiting = this.waiters.get(key);
      if (wake !== undefined && waiting !== undefined) {
        waiting.delete(wake);
        if (waiting.size === 0) this.waiters.delete(key);
      }
    }
  }
}
