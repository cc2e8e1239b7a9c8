/**
 * Shared types of the consensus layer. Pure data: no I/O, nothing else of ours.
 */

/** Node id → counter. Counters are positive safe integers; absent means 0. */
export type VectorClock = Readonly<Record<string, number>>;

export type ClockOrder = 'before' | 'after' | 'equal' | 'concurrent';

/**
 * A hybrid logical clock timestamp (Kulkarni et al.): `wall` is milliseconds
 * since the epoch, `logical` breaks ties within one millisecond.
 */
export interface HlcTimestamp {
  readonly wall: number;
  readonly logical: number;
}

/**
 * One version of one key, as every node sees it. Immutable once created;
 * identical on every node that holds it.
 */
export interface Version {
  /** the GUID key, lower-case */
  readonly key: string;
  readonly clock: VectorClock;
  readonly timestamp: HlcTimestamp;
  /** node id of the node that accepted the write */
  readonly origin: string;
  /** hex sha256 of the body (of the empty string for a tombstone) */
  readonly sha256: string;
  readonly size: number;
  readonly contentType: string;
  /** the client's Cache-Control, if it sent one */
  readonly cacheControl?: string | undefined;
  readonly tombstone: boolean;
  /**
   * the id of the client token that authorised the write (signed with the
   * rest); absent for an anonymous write
   */
  readonly tokenId?: string | undefined;
  /**
   * the origin's Ed25519 public key, base64url of its 32 raw bytes; `origin`
   * is the id derived from it. With `signature`: the origin's signature over
   * the version (version-bytes.ts). Both are absent only on versions written
   * before versions were signed, and in the simulator; a node's shell refuses
   * such versions from peers (src/gossip/shell/version-verifier.ts).
   */
  readonly originKey?: string | undefined;
  /** base64url Ed25519 signature (64 bytes) by `originKey` over versionSigningBytes */
  readonly signature?: string | undefined;
}

/** The causally maximal versions of one key, in canonical order (winner first). */
export type SiblingSet = readonly Version[];
