/**
 * An in-memory snapshot of the banned addresses, refreshed from the banlist
 * every `refreshMs`. `look` filters through it so a node being banned at this
 * very moment is not handed out, without a database round trip per `look`;
 * `check` falls back to it while PostgreSQL is down. Bounded in size.
 */
import type { Logger } from '../log.js';
import type { Banlist } from './banlist.js';

/** Addresses held; beyond it, the newest bans are left to the authoritative checks. */
export const MAX_CACHED_BANS = 100_000;

export class BanCache {
  private banned = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(
    private readonly banlist: Banlist,
    private readonly refreshMs: number,
    private readonly logger: Logger,
    private readonly onRefresh: (size: number) => void = () => undefined,
  ) {}

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  has(ip: string): boolean {
    return this.banned.has(ip);
  }

  add(ip: string): void {
    if (this.banned.size < MAX_CACHED_BANS) this.banned.add(ip);
  }

  get size(): number {
    return this.banned.size;
  }

  /** Reloads the snapshot; keeps the old one when the banlist cannot be reached. */
  async refresh(): Promise<void> {
    try {
      this.banned = new Set(await this.banlist.activeBans(MAX_CACHED_BANS));
      this.onRefresh(this.banned.size);
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'ban snapshot not refreshed');
    }
  }

  private async tick(): Promise<void> {
    await this.refresh();
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.refreshMs);
    this.timer.unref();
  }
}
