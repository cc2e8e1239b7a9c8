/**
 * Placement and custody configuration (`placement.*` under the node): how
 * many nodes own each body, this node's zone, the disk it may use as an edge
 * cache, how many durable copies a write waits for, and the hand-off timings.
 * Declared once for the options module (src/options.ts). Design:
 * proposals/0010-placement.md.
 */
import { z } from 'zod';
import { defineOptions, integerIn, type Profiles } from '../../options.js';
import { ZONE_PATTERN } from './messages.js';
import type { Replicas } from './placement.js';

export interface PlacementConfig {
  /**
   * Nodes that own each body (`--replicas`), or 'all' (every node keeps
   * every body, as before placement). R copies survive R−1 lost disks; each
   * write costs R−1 body transfers instead of N−1, and the cluster holds
   * about N/R times one node's disk.
   */
  readonly replicas: Replicas;
  /** This node's failure domain (`--zone`); owners are spread over distinct zones when there are enough. */
  readonly zone?: string | undefined;
  /**
   * Disk for bodies this node does not own (`--cache-size`): read-through
   * copies and hand-off copies the owners have confirmed, least recently read
   * evicted first. 0 keeps no such copy (reads of them stream from an owner).
   */
  readonly cacheBytes: number;
  /**
   * A PUT or DELETE is acknowledged once this many nodes hold it durably, the
   * receiving node included (`--write-copies`). 1 answers as soon as the
   * local disk has it; more waits for owners (up to `writeTimeoutMs`).
   */
  readonly writeCopies: number;
  /** How long a write with writeCopies > 1 waits for the owners before it is refused with 503. */
  readonly writeTimeoutMs: number;
  /**
   * A member dead for longer than this stops owning bodies: the next node in
   * line becomes an owner and pulls its share. Shorter restores R copies
   * sooner after a crash; longer avoids moving data for a restart or a
   * short partition (Cassandra keeps hints for 3 h; a CDN node usually
   * comes back within minutes).
   */
  readonly handoffDelayMs: number;
  /**
   * How often custody walks the index: owned bodies not held are asked for,
   * non-owned ones are offered to their owners, the cache is kept in bounds.
   * Cost: one pass over the in-memory index, no network when placement is
   * settled.
   */
  readonly sweepIntervalMs: number;
  /** No fetch or drop happens until this long after start: membership first learns who is there. */
  readonly settleMs: number;
  /** Bodies asked of their owners ("do you hold it?") per sweep, at most; more wait. Bounds hand-off traffic. */
  readonly maxQueriesPerSweep: number;
  /** Missing owned bodies asked for per sweep, at most (the fetcher's queue is bounded too). */
  readonly maxFetchesPerSweep: number;
}

const production: PlacementConfig = {
  replicas: 3,
  cacheBytes: 1024 ** 3,
  writeCopies: 1,
  writeTimeoutMs: 10_000,
  handoffDelayMs: 5 * 60_000,
  sweepIntervalMs: 5_000,
  settleMs: 10_000,
  maxQueriesPerSweep: 2_048,
  maxFetchesPerSweep: 512,
};

/** Clusters on one machine: the same rules, sooner. */
const localTest: PlacementConfig = {
  ...production,
  writeTimeoutMs: 5_000,
  handoffDelayMs: 5_000,
  sweepIntervalMs: 500,
  settleMs: 1_000,
};

const REPLICAS_RULE = "must be a whole number from 1 to 64, or 'all'";

const schema = z.strictObject({
  replicas: z.union([z.literal('all'), z.number().int().min(1).max(64)], { error: REPLICAS_RULE }),
  zone: z.string().regex(ZONE_PATTERN, "must be 1-64 letters, digits, '.', '_' or '-'").optional(),
  cacheBytes: integerIn(0, Number.MAX_SAFE_INTEGER),
  writeCopies: integerIn(1, 64),
  writeTimeoutMs: integerIn(100, 600_000),
  handoffDelayMs: integerIn(0, 30 * 24 * 3_600_000),
  sweepIntervalMs: integerIn(10, 3_600_000),
  settleMs: integerIn(0, 3_600_000),
  maxQueriesPerSweep: integerIn(1, 1_000_000),
  maxFetchesPerSweep: integerIn(1, 1_000_000),
}).refine((c) => c.replicas === 'all' || c.writeCopies <= c.replicas, {
  message: 'must not exceed replicas: a write cannot wait for more copies than there are owners',
  path: ['writeCopies'],
});

export const PLACEMENT_OPTIONS = defineOptions('placement', schema satisfies z.ZodType<PlacementConfig, unknown>, { production, localTest } satisfies Profiles<PlacementConfig>);
export const PLACEMENT_PROFILES = PLACEMENT_OPTIONS.profiles;
