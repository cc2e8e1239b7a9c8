/**
 * Shared types of the gossip layer. The protocol core (membership, failure
 * detection, dissemination, anti-entropy) is a set of state machines driven
 * from outside: messages in through `handle()`, time through `tick()`, and
 * everything it needs injected (transport, clock, randomness, the version
 * store). It has no timers and does no I/O of its own, so the same code runs
 * over HTTP (src/gossip/http-transport.ts) and in the simulator.
 */
import type { Logger } from '../../log.js';
import type { SiblingSet, Version } from '../../consensus/types.js';
import type { GossipMessage } from './messages.js';

export type NodeId = string;

/** What a node needs to reach and verify a peer. */
export interface PeerInfo {
  readonly id: NodeId;
  /** HOST:PORT the peer serves HTTP on */
  readonly address: string;
  /** base64url of the peer's 32 raw Ed25519 public key bytes */
  readonly publicKey: string;
}

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** A member as one node sees it. */
export interface MemberRecord extends PeerInfo {
  /** raised only by the member itself, to refute suspicion (SWIM) */
  readonly incarnation: number;
  readonly state: MemberState;
  /** local clock (ms) when this node last changed the member's state */
  readonly stateSince: number;
  /** local clock (ms) of the last message received from the member, if any */
  readonly lastContact: number | null;
  /** the member's zone, once a claim from it said (undefined until then) */
  readonly zone?: string | undefined;
}

/** Virtual or real time in milliseconds. */
export interface Clock {
  now(): number;
}

/** Uniform in [0, 1). Seeded in the simulator. */
export interface Random {
  next(): number;
}

/**
 * Fire-and-forget delivery of one message to one peer. Delivery may fail
 * silently (loss, partition, a dead peer); the protocol never waits on it.
 * Replies are ordinary messages sent back the same way.
 */
export interface Transport {
  send(to: PeerInfo, message: GossipMessage): void;
}

/** What every protocol component is given. */
export interface ProtocolEnv {
  readonly self: PeerInfo;
  /** this node's zone (--zone), announced with its membership claims; undefined: none */
  readonly zone?: string | undefined;
  readonly transport: Transport;
  /** for timers and intervals: monotonic in the shell, so a wall-clock step moves no deadline */
  readonly clock: Clock;
  /**
   * the wall clock, for comparisons with version timestamps (ages, grace
   * periods, how far ahead a version is); absent: `clock` (the simulator and
   * unit tests, where the two are one)
   */
  readonly wall?: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

/**
 * The slice of the blob store the data plane needs. The real one is
 * src/storage's BlobStore; the simulator has an in-memory one.
 */
export interface VersionStore {
  siblings(key: string): SiblingSet;
  /** merges versions learned from a peer; resolves with the ones adopted (new or superseding) */
  applyRemote(versions: readonly Version[]): Promise<Version[]>;
  hasBody(sha256: string): boolean;
  /** every key known (including deleted ones awaiting collection) */
  keys(): Iterable<string>;
  /** called after every change to a key's sibling set, local or remote */
  onChange(listener: (key: string, siblings: SiblingSet) => void): void;
  /**
   * Removes a held body that versions still name: this node does not own it
   * and its owners hold it (custody.ts). The versions stay; hasBody turns false.
   */
  dropBody(sha256: string): Promise<void>;
  /** Forgets a key entirely (a rejoining node learned it was deleted and collected elsewhere). */
  forgetKey(key: string): Promise<void>;
}

/** Peers to talk to, as the membership component sees them. */
export interface PeerSampler {
  /** up to `count` distinct live peers (alive or suspect), uniformly at random, never self */
  sample(count: number, exclude?: ReadonlySet<NodeId>): PeerInfo[];
  /** a live peer by id */
  peer(id: NodeId): PeerInfo | undefined;
  /** number of live peers */
  size(): number;
}
