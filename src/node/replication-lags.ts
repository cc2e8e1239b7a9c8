/**
 * The replication lags of the last versions adopted from peers (how long
 * after their creation they arrived here), for `/cluster` and the status
 * page: a bounded window, summarised as a median and a maximum.
 */
export interface LagSummary {
  samples: number;
  lagMedianMs: number | null;
  lagMaxMs: number | null;
}

export class ReplicationLags {
  private readonly lags: number[] = [];

  /** @param capacity how many recent lags are kept; older ones drop out first */
  constructor(private readonly capacity: number) {}

  record(lagMs: number): void {
    this.lags.push(Math.max(0, lagMs));
    if (this.lags.length > this.capacity) this.lags.shift();
  }

  summary(): LagSummary {
    if (this.lags.length === 0) return { samples: 0, lagMedianMs: null, lagMaxMs: null };
    const sorted = [...this.lags].sort((a, b) => a - b);
    return { samples: sorted.length, lagMedianMs: sorted[Math.floor(sorted.length / 2)] ?? null, lagMaxMs: sorted[sorted.length - 1] ?? null };
  }
}
