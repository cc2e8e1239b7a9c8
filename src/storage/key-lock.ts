/**
 * Per-key mutual exclusion: operations on one key run one at a time, in
 * arrival order; different keys never wait for each other. The map holds
 * only keys with work queued, so it stays as small as the concurrency.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => { release = resolve; });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  get size(): number {
    return this.tails.size;
  }
}

/**
 * Many commits may run at once; an exclusive task (log compaction) waits for
 * them to finish and holds new ones back until it is done.
 */
export class CommitGate {
  private active = 0;
  private exclusive: Promise<void> | undefined;
  private idle: (() => void) | undefined;

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive !== undefined) await this.exclusive;
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      if (this.active === 0) this.idle?.();
    }
  }

  async exclusively(fn: () => Promise<void>): Promise<void> {
    while (this.exclusive !== undefined) await this.exclusive;
    const run = (async () => {
      if (this.active > 0) await new Promise<void>((resolve) => { this.idle = resolve; });
      this.idle = undefined;
      await fn();
    })();
    // Waiters only need to know when it is over, not how it went.
    this.exclusive = run.then(() => undefined, () => undefined).finally(() => { this.exclusive = undefined; });
    await run;
  }
}
