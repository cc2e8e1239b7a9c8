/**
 * The registry seam: who is live right now. Two implementations pass one
 * contract suite: `RedisRegistry` (production, shared by several Points) and
 * `MemoryRegistry` (embedded mode). Both take an injected clock so expiry is
 * testable without waiting; liveness is "expires > now", and a periodic,
 * bounded `sweep()` trims lapsed ids so no request ever scans every node.
 */

/** What `look` and `check` hand out: never the session key. */
export interface PublicNode {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  readonly publicKey: string;
}

/** A live registration as the Point sees it. */
export interface NodeRecord extends PublicNode {
  /** ms since epoch of the registration */
  readonly registeredAt: number;
  /** ms since epoch of the last reg or heartbeat */
  readonly lastSeen: number;
  /** ms since epoch after which the node is no longer live */
  readonly expiresAt: number;
}

export interface Registration extends PublicNode {
  readonly sessionKey: string;
}

export interface UnreachableReport {
  /** distinct reporter addresses inside the window, this one included */
  readonly reports: number;
  /** true when this report completed the quorum and the node was dropped */
  readonly removed: boolean;
}

export interface ChallengeLimits {
  readonly perIp: number;
  readonly total: number;
}

/** Why a challenge was not issued. */
export type ChallengeRefusal = 'too-many';

export interface Registry {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Registers (or re-registers) a node, replacing its previous session key and unreachable reports. */
  register(reg: Registration, ttlMs: number): Promise<void>;
  /** The live record of the node holding this session key. */
  authenticate(sessionKey: string): Promise<NodeRecord | undefined>;
  /** The live record of a node id. */
  get(id: string): Promise<NodeRecord | undefined>;
  /** Extends a live node's TTL; false when it has lapsed or was removed. */
  heartbeat(id: string, ttlMs: number): Promise<boolean>;
  /**
   * The `look` call in one step: authenticates the session key and draws up
   * to `count` distinct live nodes uniformly at random, never the caller.
   * Undefined when the key is unknown, replaced or lapsed.
   */
  look(sessionKey: string, count: number): Promise<PublicNode[] | undefined>;
  /** Drops a node and its session. */
  remove(id: string): Promise<void>;
  /** Drops every live node registered from `ip`; returns their ids. */
  removeByIp(ip: string): Promise<string[]>;
  /** Records that `reporterIp` could not reach `targetId`; drops it once `quorum` distinct addresses agree within `windowMs`. */
  reportUnreachable(targetId: string, reporterIp: string, quorum: number, windowMs: number): Promise<UnreachableReport>;
  /**
   * Stores a registration challenge (single use, lapses after `ttlMs`) for
   * `publicKey`, issued to `ip`. Refused ('too-many') while `ip` holds
   * `limits.perIp` unused, unexpired ones, or when about `limits.total` were
   * issued within the last one to two TTLs, so a flood of challenge requests
   * holds a bounded amount of the backend's memory.
   */
  issueChallenge(challenge: string, publicKey: string, ip: string, ttlMs: number, limits: ChallengeLimits): Promise<true | ChallengeRefusal>;
  /** Takes a challenge (at most once): the public key it was issued for, or undefined when unknown, expired or used. */
  takeChallenge(challenge: string): Promise<string | undefined>;
  /** Removes up to `batch` lapsed registrations; returns how many it removed. */
  sweep(batch: number): Promise<number>;
  /** Number of ids in the registry (live or awaiting the sweep). */
  size(): Promise<number>;
  /** Throws when the backend cannot be reached. */
  ping(): Promise<void>;
}

export type Clock = () => number;
