/**
 * When to run a full membership push-pull, and with which seeds (memberlist's
 * pushPullTrigger and join). Periodic syncs run every pushPullIntervalMs,
 * scaled as memberlist scales it above 32 nodes; right after a start the gap
 * begins at one probe interval and doubles up to that, because when every
 * node knows only a few others, gossip's retransmit budget (scaled by the
 * small N each node sees) leaves some members unheard of, and early syncs
 * fill those gaps within a few rounds instead of one full interval. New seeds
 * are synced with at once, up to joinFanout of them.
 */
import { pushPullIntervalFor, type MembershipOptions } from './membership-config.js';
import type { NodeId, Random } from './types.js';

export class PushPullSchedule {
  private gap: number;
  private next: number;
  private readonly joining = new Set<NodeId>();

  constructor(
    private readonly options: MembershipOptions,
    private readonly random: Random,
    now: number,
  ) {
    this.gap = options.probeIntervalMs;
    this.next = now + options.probeIntervalMs + Math.floor(random.next() * options.probeIntervalMs);
  }

  /** New seeds: up to joinFanout of them, chosen at random, are synced with on the next tick. */
  seeds(ids: readonly NodeId[]): void {
    const pool = [...ids];
    for (let i = 0; i < pool.length && this.joining.size < this.options.joinFanout; i++) {
      const j = i + Math.floor(this.random.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j] as NodeId, pool[i] as NodeId];
      this.joining.add(pool[i] as NodeId);
    }
  }

  /** Seeds to sync with now (each returned once). */
  takeSeeds(): NodeId[] {
    const ids = [...this.joining];
    this.joining.clear();
    return ids;
  }

  /** True if a periodic sync is due at `now` for a cluster of `n` nodes; schedules the next one. */
  due(now: number, n: number): boolean {
    if (now < this.next) return false;
    this.gap = Math.min(2 * this.gap, pushPullIntervalFor(this.options, n));
    this.next = now + this.gap;
    return true;
  }
}
