/**
 * The data plane: spreads version metadata (never bodies) and keeps every
 * node's versions in agreement. SPEC §4 "Dissemination" and "Anti-entropy";
 * design and measurements in proposals/0001-gossip-protocol.md.
 *
 * - Rumors: a write accepted here is pushed at once to `fanout` random live
 *   peers (hops 0). A node that adopts versions from a rumor forwards them
 *   once, to `fanout` peers (hops + 1) that the seen-filter does not already
 *   know to hold them, until `maxHops`. A node that already had them records
 *   that the sender has them and stays quiet (infect-and-die with feedback).
 * - Repairs: versions sent by anti-entropy, or in answer to a sender that
 *   lacks something, carry hops = LIMITS.maxHops and are never forwarded: a
 *   repair is news only to its receiver, so re-spreading it would mostly
 *   send peers what they have (think of a new node catching up on 100k keys).
 * - Every `versions` message carries, for each key it names, the sender's
 *   whole sibling set. A receiver holding versions of that key the sender
 *   lacks answers with its set (a repair), so any exchange ends with both
 *   sides equal: that closes anti-entropy's push-pull and corrects stale rumors.
 * - Bodies: `held` lists the bodies the sender holds among the versions it
 *   sends, except those it originated: receivers always record a version's
 *   origin as a holder, and the sender too when `held` names the body. They
 *   report versions whose body they lack through `onBodyNeeded`, once per
 *   adoption, and again at start() for every held version whose body is
 *   missing (adopted before a crash or restart, body not yet arrived).
 */
import type { Version } from '../../consensus/types.js';
import { causalWeight, sameVersion } from '../../consensus/versions.js';
import { AntiEntropy } from './anti-entropy.js';
import { BodyHolders } from './body-holders.js';
import { DATA_PLANE_OPTIONS, type DataPlaneConfig } from './data-plane-config.js';
import { buildOptions } from '../../options.js';
import { LIMITS, PROTOCOL_VERSION, type GossipMessage, type MessageBody, type MessageOf } from './messages.js';
import { MerkleTree, siblingsDigest } from './merkle-tree.js';
import { SeenFilter, versionId } from './seen-filter.js';
import type { NodeId, PeerInfo, PeerSampler, ProtocolEnv, VersionStore } from './types.js';
import { batchSets } from './version-batches.js';

export type { DataPlaneOptions } from './data-plane-config.js';

export interface DataPlaneDeps {
  readonly store: VersionStore;
  readonly peers: PeerSampler;
  /** a version adopted here whose body this node lacks; `holders` are peers known to hold it, origin first */
  readonly onBodyNeeded: (version: Version, holders: NodeId[]) => void;
  /** false for keys held back while rejoining (tombstones.ts): their versions are not sent */
  readonly mayOffer?: (key: string) => boolean;
}

export interface DataPlaneStats {
  /** anti-entropy intervals elapsed */
  rounds: number;
  /** versions in `versions` messages sent (rumors and repairs) */
  versionsSent: number;
  versionMessagesSent: number;
  /** `versions` messages forwarded as rumors (hops > 0) */
  rumorsForwarded: number;
  versionsReceived: number;
  versionsAdopted: number;
  /** versions refused by the stale-admission rule */
  staleRefused: number;
  /** versions stamped more than twice the skew limit ahead of this node's wall clock */
  aheadRefused: number;
  /** anti-entropy sessions this node opened */
  aeSessions: number;
  /** anti-entropy messages sent: ae-* and repair `versions` */
  aeMessagesOut: number;
  /** their JSON bytes */
  aeBytesOut: number;
  bodiesNeeded: number;
  /** keys in the hash tree */
  treeKeys: number;
  seenFilterVersions: number;
  bodyHolderEntries: number;
}

export class DataPlane {
  private readonly options: DataPlaneConfig;
  private readonly tree: MerkleTree;
  private readonly ae: AntiEntropy;
  private readonly seen: SeenFilter;
  private readonly bodyHolders: BodyHolders;
  /** bodies the runtime told us it stored (the store may also say so) */
  private readonly heldBodies: Set<string> = new Set();
  private started = false;
  private subscribed = false;
  private nextAeAt = 0;
  private readonly counters: Omit<DataPlaneStats, 'treeKeys' | 'seenFilterVersions' | 'bodyHolderEntries'> = {
    rounds: 0,
    versionsSent: 0,
    versionMessagesSent: 0,
    rumorsForwarded: 0,
    versionsReceived: 0,
    versionsAdopted: 0,
    staleRefused: 0,
    aheadRefused: 0,
    aeSessions: 0,
    aeMessagesOut: 0,
    aeBytesOut: 0,
    bodiesNeeded: 0,
  };

  constructor(
    private readonly env: ProtocolEnv,
    private readonly deps: DataPlaneDeps,
    options: DataPlaneConfig,
  ) {
    // checked again here: a hand-assembled config must not reach the protocol
    this.options = buildOptions(DATA_PLANE_OPTIONS, {}, options);
    this.tree = new MerkleTree(this.options.treeDepth);
    this.ae = new AntiEntropy(this.tree, (key) => causalWeight(deps.store.siblings(key)), env.random, this.options);
    this.seen = new SeenFilter(this.options.seenFilterVersions, this.options.seenFilterPeersPerVersion);
    this.bodyHolders = new BodyHolders(this.options.bodyHolderEntries, this.options.holdersPerBody);
  }

  /** Builds the hash tree from the store and follows its changes. */
  start(): void {
    if (this.started) return;
    const { store } = this.deps;
    for (const key of store.keys()) {
      const siblings = store.siblings(key);
      this.tree.set(key, siblingsDigest(key, siblings));
      // Versions adopted before a restart whose bodies never arrived: ask again.
      // Adoption asks only once, and anti-entropy sees equal versions as settled.
      for (const v of siblings) {
        if (v.tombstone || this.isHeld(v.sha256)) continue;
        this.counters.bodiesNeeded++;
        this.deps.onBodyNeeded(v, this.holders(v.sha256));
      }
    }
    if (!this.subscribed) {
      store.onChange((key, siblings) => {
        if (this.started) this.tree.set(key, siblingsDigest(key, siblings));
      });
      this.subscribed = true;
    }
    // first session after a random part of the interval, so nodes do not move in lockstep
    this.nextAeAt = this.env.clock.now() + Math.floor(this.env.random.next() * this.options.antiEntropyIntervalMs);
    this.started = true;
  }

  /** Stops reacting to ticks and messages (no timers to clear). start() again rebuilds the tree. */
  stop(): void {
    this.started = false;
    for (const key of [...this.tree.keys()]) this.tree.set(key, undefined);
  }

  /** A write accepted by this node's client API: push it to `fanout` peers at once. */
  published(version: Version): void {
    if (!this.started) return;
    if (!version.tombstone) this.bodyHeld(version.sha256);
    const current = this.deps.store.siblings(version.key);
    const set = current.some((v) => sameVersion(v, version)) ? current : [version];
    this.spread([set], new Set(), 0);
  }

  /** Time passes: every `antiEntropyIntervalMs`, open a session with one random live peer. */
  tick(): void {
    if (!this.started) return;
    const now = this.env.clock.now();
    if (now < this.nextAeAt) return;
    this.nextAeAt = Math.max(this.nextAeAt + this.options.antiEntropyIntervalMs, now + 1);
    this.counters.rounds++;
    const peer = this.deps.peers.sample(1)[0];
    if (peer === undefined) return;
    this.counters.aeSessions++;
    this.sendAe(peer, this.ae.open(this.ae.newSessionId()));
  }

  /** One message from a peer (already parsed); resolves when everything it caused is done. */
  async handle(msg: GossipMessage): Promise<void> {
    if (!this.started || msg.from === this.env.self.id) return;
    switch (msg.type) {
      case 'versions':
        return this.onVersions(msg);
      case 'ae-nodes':
      case 'ae-keys':
      case 'ae-want':
        this.onAe(msg);
        return;
      default:
        return;
    }
  }

  /** The runtime stored a body: announce it in `held` from now on. */
  bodyHeld(sha256: string): void {
    this.heldBodies.delete(sha256);
    if (this.heldBodies.size >= this.options.bodyHolderEntries) {
      const oldest = this.heldBodies.values().next();
      if (oldest.done !== true) this.heldBodies.delete(oldest.value);
    }
    this.heldBodies.add(sha256);
  }

  /** The body was dropped here (custody): stop listing it in `held`. */
  bodyDropped(sha256: string): void {
    this.heldBodies.delete(sha256);
  }

  /** Peers known to hold a body, origin first. */
  holders(sha256: string): NodeId[] {
    return this.bodyHolders.holders(sha256);
  }

  stats(): DataPlaneStats {
    return {
      ...this.counters,
      treeKeys: this.tree.size,
      seenFilterVersions: this.seen.size,
      bodyHolderEntries: this.bodyHolders.size,
    };
  }

  // ---- versions ---------------------------------------------------------------

  private async onVersions(msg: MessageOf<'versions'>): Promise<void> {
    const from = msg.from;
    const versions = msg.versions.slice(0, LIMITS.maxVersions);
    const held = new Set(msg.held);
    this.counters.versionsReceived += versions.length;
    for (const v of versions) {
      this.seen.add(from, versionId(v));
      if (v.tombstone) continue;
      if (v.origin !== this.env.self.id) this.bodyHolders.add(v.sha256, v.origin, true);
      if (held.has(v.sha256)) this.bodyHolders.add(v.sha256, from);
    }

    const admitted = versions.filter((v) => this.admissible(v));
    const adopted = dedupe(admitted.length === 0 ? [] : await this.deps.store.applyRemote(admitted));
    this.counters.versionsAdopted += adopted.length;

    for (const v of adopted) {
      if (v.tombstone || this.isHeld(v.sha256)) continue;
      this.counters.bodiesNeeded++;
      this.deps.onBodyNeeded(v, this.holders(v.sha256));
    }

    const adoptedKeys = new Set(adopted.map((v) => v.key));
    if (adoptedKeys.size > 0 && msg.hops < this.options.maxHops) {
      const sets = [...adoptedKeys].map((key) => this.deps.store.siblings(key));
      this.spread(sets, new Set([from]), msg.hops + 1);
    }

    // answer with our set wherever we hold versions the sender does not
    const theirs = new Map<string, Version[]>();
    for (const v of versions) {
      const list = theirs.get(v.key);
      if (list === undefined) theirs.set(v.key, [v]);
      else list.push(v);
    }
    const lacking: string[] = [];
    for (const [key, list] of theirs) {
      const mine = this.deps.store.siblings(key);
      if (mine.some((m) => !list.some((v) => sameVersion(v, m)) && !this.seen.has(from, versionId(m)))) lacking.push(key);
    }
    const peer = lacking.length > 0 ? this.deps.peers.peer(from) : undefined;
    if (peer !== undefined) this.sendSets(peer, lacking.map((key) => this.deps.store.siblings(key)), LIMITS.maxHops);
  }

  /**
   * The stale-admission rule (proposal 0002): old versions of keys we never
   * held are refused. Always for a tombstone past the grace period: adopting
   * it would only mean collecting it again (and a node that has collected a
   * key would otherwise take it back from a peer that has not yet).
   */
  private admissible(v: Version): boolean {
    const now = (this.env.wall ?? this.env.clock).now();
    if (v.timestamp.wall - now > 2 * this.options.maxClockSkewMs) {
      this.counters.aheadRefused++;
      return false;
    }
    const limit = this.options.staleAdmissionMs;
    const age = now - v.timestamp.wall;
    const old = (v.tombstone && age > this.options.tombstoneGraceMs) || (limit !== 0 && age > limit);
    if (!old || this.deps.store.siblings(v.key).length > 0) return true;
    this.counters.staleRefused++;
    return false;
  }

  /**
   * Pushes sets to `fanout` random live peers, leaving out `exclude` and the
   * peers known to hold every version in them; each target gets only the sets
   * it is not known to hold.
   */
  private spread(sets: readonly (readonly Version[])[], exclude: Set<NodeId>, hops: number): void {
    const ids = sets.flatMap((set) => set.map(versionId));
    if (ids.length === 0) return;
    let holdersOfAll: Set<NodeId> | undefined;
    for (const id of ids) {
      const peers = this.seen.peersWith(id);
      holdersOfAll = holdersOfAll === undefined ? new Set(peers) : new Set([...holdersOfAll].filter((p) => peers.has(p)));
      if (holdersOfAll.size === 0) break;
    }
    for (const p of holdersOfAll ?? []) exclude.add(p);
    for (const peer of this.deps.peers.sample(this.options.fanout, exclude)) {
      const needed = sets.filter((set) => set.some((v) => !this.seen.has(peer.id, versionId(v))));
      if (needed.length === 0) continue;
      if (hops > 0) this.counters.rumorsForwarded++;
      this.sendSets(peer, needed, hops);
    }
  }

  /** Sends whole sets to one peer in as few `versions` messages as LIMITS allow, and remembers it has them. */
  private sendSets(peer: PeerInfo, sets: readonly (readonly Version[])[], hops: number): void {
    const { mayOffer } = this.deps;
    const offered = mayOffer === undefined ? sets : sets.filter((set) => set[0] === undefined || mayOffer(set[0].key));
    for (const versions of batchSets(offered)) {
      const held: string[] = [];
      for (const v of versions) {
        this.seen.add(peer.id, versionId(v));
        // a version's origin is always recorded as a holder, so `held` leaves out what we wrote
        if (!v.tombstone && v.origin !== this.env.self.id && this.isHeld(v.sha256) && !held.includes(v.sha256)) held.push(v.sha256);
      }
      const message: GossipMessage = { v: PROTOCOL_VERSION, from: this.env.self.id, type: 'versions', versions, held, hops };
      this.counters.versionsSent += versions.length;
      this.counters.versionMessagesSent++;
      if (hops === LIMITS.maxHops) this.countAe(message);
      this.env.transport.send(peer, message);
    }
  }

  private isHeld(sha256: string): boolean {
    return this.heldBodies.has(sha256) || this.deps.store.hasBody(sha256);
  }

  // ---- anti-entropy -------------------------------------------------------------

  private onAe(msg: MessageOf<'ae-nodes'> | MessageOf<'ae-keys'> | MessageOf<'ae-want'>): void {
    const peer = this.deps.peers.peer(msg.from);
    if (peer === undefined) return; // cannot answer a peer we do not know
    if (msg.type === 'ae-want') {
      this.sendRepair(peer, this.ae.onWant(msg));
      return;
    }
    const reply = msg.type === 'ae-nodes' ? this.ae.onNodes(msg) : this.ae.onKeys(msg);
    if (reply.nodes !== undefined) this.sendAe(peer, reply.nodes);
    if (reply.keys !== undefined) this.sendAe(peer, reply.keys);
    this.sendRepair(peer, reply.send);
    if (reply.want.length > 0) this.sendAe(peer, { type: 'ae-want', sid: msg.sid, keys: reply.want });
  }

  private sendRepair(peer: PeerInfo, keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.sendSets(peer, keys.map((key) => this.deps.store.siblings(key)), LIMITS.maxHops);
  }

  private sendAe(peer: PeerInfo, body: MessageBody): void {
    const message = { v: PROTOCOL_VERSION, from: this.env.self.id, ...body } as GossipMessage;
    this.countAe(message);
    this.env.transport.send(peer, message);
  }

  private countAe(message: GossipMessage): void {
    this.counters.aeMessagesOut++;
    this.counters.aeBytesOut += JSON.stringify(message).length;
  }
}

/** Versions without repeats (a store may return one twice). */
function dedupe(versions: readonly Version[]): Version[] {
  const seen = new Set<string>();
  return versions.filter((v) => {
    const id = `${versionId(v)}|${v.sha256}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
