/**
 * Configuration of the data plane (dissemination + anti-entropy): named
 * defaults in two profiles and their rules, declared once for the options
 * module (src/options.ts), which merges, validates and freezes:
 * `buildOptions(DATA_PLANE_OPTIONS, overrides, 'localTest')`. Every knob says
 * what it trades. Design and measurements: proposals/0001-gossip-protocol.md
 * ("Dissemination", "Anti-entropy").
 */
import { z } from 'zod';
import { defineOptions, integerIn, type ProfileKey, type Profiles } from '../../options.js';
import { LIMITS } from './messages.js';

export interface DataPlaneConfig {
  /**
   * Peers a new version's metadata is pushed to, by its origin and by every
   * node on first receipt. Rounds to reach N nodes ≈ log_fanout N + a short
   * tail; the share of nodes a rumor misses (mopped up by anti-entropy) is
   * about e^(-fanout): 5% at 3, 2% at 4, 0.7% at 5. Cost: ≈ fanout × N
   * metadata messages per write, cluster-wide.
   */
  readonly fanout: number;
  /**
   * Forwarding stops when a rumor has travelled this many hops. Each node
   * forwards a version once (on first receipt), so this only bounds odd
   * topologies; it must exceed the epidemic's depth (≈ log2 N + ln N) or rumors
   * die early and anti-entropy carries more. At most LIMITS.maxHops - 1
   * (LIMITS.maxHops marks a repair, which is never forwarded).
   */
  readonly maxHops: number;
  /**
   * A push-pull session with one random live peer starts this often. Idle
   * sessions cost ~100 bytes each way whatever the key count, so this mostly
   * sets how fast rumor misses and partitions heal: the uninformed share goes
   * p → ~p² per interval.
   */
  readonly antiEntropyIntervalMs: number;
  /**
   * Levels of the hash tree over hex prefixes of sha256(key): 16^depth leaf
   * buckets, stored sparsely. Deeper trees cost memory (≈ one node per key per
   * level below log16(keys)) and one round trip per level, and shrink the
   * buckets whose keys are listed at the end of a descent. 5 suits 10k–1M keys:
   * at 100k keys, 100 differences cost 56 KB with depth 5 (4: 57 KB, 6: 65 KB,
   * but 4 lists ~15 keys per bucket at 1M keys). Must be equal on every node:
   * paths deeper than a node's tree are ignored.
   */
  readonly treeDepth: number;
  /**
   * A differing subtree holding at most this many keys (on the side that
   * finds it) is settled by listing its keys (`ae-keys`, ~60 bytes a key)
   * instead of descending further (~75 bytes a level, one round trip each).
   * Measured at 100k keys / 100 differences: 0 → 69 KB, 1 → 58 KB, 2 → 56 KB.
   */
  readonly aeLeafKeys: number;
  /**
   * Descend with 16-bit slices of the 16 children's hashes packed in one
   * string per parent (`ae-nodes.children`, ~75 bytes a parent) instead of
   * one [path, 64-bit hash] pair per child (~30 bytes a child, ~450 a
   * parent). A slice can collide (2^-16 per differing child); the slice is
   * salted by the session id, so a miss is found by a later session.
   */
  readonly aePackedChildren: boolean;
  /** Parents expanded in one `ae-nodes` reply; more wait for the next session. Bounds reply size. */
  readonly aeMaxExpansions: number;
  /** Versions sent in answer to one anti-entropy message; more wait for the next session. */
  readonly aeMaxVersionsPerReply: number;
  /** Distinct versions the seen-filter remembers (LRU). More means fewer redundant pushes, more memory. */
  readonly seenFilterVersions: number;
  /** Peers remembered per version in the seen-filter (≈ fanout × a few is enough). */
  readonly seenFilterPeersPerVersion: number;
  /** Bodies whose holders are remembered (LRU). */
  readonly bodyHolderEntries: number;
  /** Holders remembered per body (origin first). */
  readonly holdersPerBody: number;
  /**
   * Stale admission (proposal 0002, "resurrection window"): a version whose
   * HLC wall time is older than this is not adopted by a node that holds no
   * version of its key. 0 turns it off. Set it to the tombstone grace period.
   * Cost: a node that joins empty never learns keys last written longer ago.
   */
  readonly staleAdmissionMs: number;
  /**
   * Tombstones are kept at least this long (the node sets it from its
   * tombstone grace); a node out of contact longer than this rejoins
   * pull-only (tombstones.ts).
   */
  readonly tombstoneGraceMs: number;
  /**
   * The skew limit (the node sets it from --max-clock-skew). Versions stamped
   * more than twice it ahead of this node's wall clock are refused, so a node
   * whose clock ran years ahead cannot win every tie for years. Twice, because
   * an honest stamp can be that far ahead of a slow clock: nodes' clocks may
   * be the limit apart, and a hybrid clock keeps its lead when the fastest
   * clock is stepped back (proposal 0011).
   */
  readonly maxClockSkewMs: number;
  /**
   * A node answers as a witness for a rejoining peer only after it has been
   * up this long (and is not rejoining itself): long enough for anti-entropy
   * to have brought it every key, so "I do not know this key" means deleted.
   */
  readonly witnessUptimeMs: number;
}

export type DataPlaneOptions = DataPlaneConfig;

/** Production: LAN/WAN clusters of up to thousands of nodes and millions of keys. */
const production: DataPlaneConfig = {
  fanout: 4,
  maxHops: 16,
  antiEntropyIntervalMs: 1_000,
  treeDepth: 5,
  aeLeafKeys: 2,
  aePackedChildren: true,
  aeMaxExpansions: 256,
  aeMaxVersionsPerReply: 1_024,
  seenFilterVersions: 16_384,
  seenFilterPeersPerVersion: 16,
  bodyHolderEntries: 16_384,
  holdersPerBody: 8,
  staleAdmissionMs: 0,
  tombstoneGraceMs: 24 * 3_600_000,
  maxClockSkewMs: 300_000,
  witnessUptimeMs: 3_600_000,
};

/** Local tests and the simulator: same protocol, faster anti-entropy, smaller caches. */
const localTest: DataPlaneConfig = {
  ...production,
  antiEntropyIntervalMs: 100,
  seenFilterVersions: 4_096,
  bodyHolderEntries: 4_096,
  witnessUptimeMs: 2_000,
};

/** The rule of every knob: integers in [min, max], and one flag. */
const schema = z.strictObject({
  fanout: integerIn(1, 32),
  maxHops: integerIn(1, LIMITS.maxHops - 1),
  antiEntropyIntervalMs: integerIn(1, 3_600_000),
  treeDepth: integerIn(1, 8),
  aeLeafKeys: integerIn(0, LIMITS.maxAeKeys),
  aePackedChildren: z.boolean({ error: 'must be true or false' }),
  aeMaxExpansions: integerIn(1, Math.floor(LIMITS.maxAeNodes / 16)),
  aeMaxVersionsPerReply: integerIn(1, 64 * LIMITS.maxVersions),
  seenFilterVersions: integerIn(1, 10_000_000),
  seenFilterPeersPerVersion: integerIn(1, 1_024),
  bodyHolderEntries: integerIn(1, 10_000_000),
  holdersPerBody: integerIn(1, 256),
  staleAdmissionMs: integerIn(0, Number.MAX_SAFE_INTEGER),
  tombstoneGraceMs: integerIn(1, Number.MAX_SAFE_INTEGER),
  maxClockSkewMs: integerIn(1_000, 86_400_000),
  witnessUptimeMs: integerIn(0, 30 * 24 * 3_600_000),
});

/** Data plane options: `dataPlane.*` under the node. */
export const DATA_PLANE_OPTIONS = defineOptions('dataPlane', schema satisfies z.ZodType<DataPlaneConfig>, { production, localTest });

/** The named profiles (validated, frozen). */
export const DATA_PLANE_PROFILES: Profiles<DataPlaneConfig> = DATA_PLANE_OPTIONS.profiles;
export type DataPlaneProfile = ProfileKey;
