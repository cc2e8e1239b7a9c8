/**
 * Tombstones without resurrection (proposals/0002-conflict-resolution.md,
 * "Tombstone collection"). Two rules, both through one question a node asks
 * its peers about a batch of keys (`key-query`), answered with `key-state`:
 * which of them the peer knows, which of those it holds only as tombstones,
 * and whether the peer is a reliable witness (not itself rejoining, and up
 * long enough to have caught up).
 *
 * - Collection: a key whose every sibling is a tombstone older than the grace
 *   period is forgotten only once every live member has said it holds the
 *   key as tombstones only, or not at all. Nobody live can then bring it back.
 * - Pull-only rejoin: a node that heard from no peer for longer than the
 *   grace period (down, or cut off) may hold live versions whose tombstones
 *   were collected meanwhile. Before it offers any of its keys whose versions
 *   are all older than the grace period, it asks witnesses about them: a key
 *   some witness knows is released (anti-entropy then merges it; a tombstone
 *   there dominates the stale version), a key no witness knows was deleted and
 *   collected, so it is forgotten here, not spread. Until a key is settled
 *   the data plane does not send it (`mayOffer`), and a read waits for the
 *   witnesses before it serves it (`onSettled`, `askNow`; the runtime's
 *   settleRejoin), so a client is not given a blob deleted meanwhile.
 *
 * Pure: time through tick(), messages through handle().
 */
import { LIMITS, PROTOCOL_VERSION, type GossipMessage, type MessageOf } from './messages.js';
import type { NodeId, PeerInfo, PeerSampler, ProtocolEnv, VersionStore } from './types.js';

export interface TombstoneOptions {
  /** tombstones are kept at least this long (SPEC §5, --tombstone grace); also what "away too long" means */
  readonly graceMs: number;
  /** a peer answers as a witness once it has been up this long and is not rejoining itself */
  readonly witnessUptimeMs: number;
  /** witnesses whose answers settle a rejoining key (fewer if fewer are live) */
  readonly witnesses: number;
  /** how often pending questions are asked again */
  readonly askEveryMs: number;
  /** collection asks at most this many live members per sweep (the rest on later sweeps), so a sweep costs O(1) messages, not O(N) */
  readonly askPeersPerSweep: number;
  /** and about at most this many candidate keys per sweep */
  readonly askKeysPerSweep: number;
}

export interface TombstoneDeps {
  readonly store: VersionStore;
  readonly peers: PeerSampler;
  /** live members (self excluded) */
  readonly live: () => PeerInfo[];
  /** forgets a key here (rejoin: no witness knows it) */
  readonly forget: (key: string) => Promise<void>;
}

export interface TombstoneStats {
  /** keys held back while rejoining */
  rejoinPending: number;
  /** keys forgotten on rejoin because no witness knew them */
  rejoinForgotten: number;
  /** keys released on rejoin because a witness knew them */
  rejoinReleased: number;
  pullOnly: boolean;
}

export class Tombstones {
  private readonly startedAt: number;
  /** rejoining: keys not offered until witnesses answer, with the witnesses that said "unknown" */
  private readonly pending = new Map<string, Set<NodeId>>();
  private pullOnlySince: number | undefined;
  /** keys being forgotten: held back until the store has done it */
  private readonly forgetting = new Set<string>();
  /** collection: candidate keys → live members that confirmed */
  private readonly confirmations = new Map<string, Set<NodeId>>();
  private nextAskAt = 0;
  /** peers whose last answer said they are rejoining pull-only themselves */
  private readonly rejoiningPeers = new Set<NodeId>();
  /** collection: where the next sweep starts asking among the live members (round robin) */
  private askCursor = 0;
  private readonly counters = { rejoinForgotten: 0, rejoinReleased: 0 };
  /** told when a held-back key is settled (released or forgotten) */
  private readonly settledListeners: ((key: string) => void)[] = [];

  constructor(
    private readonly env: ProtocolEnv,
    private readonly deps: TombstoneDeps,
    private readonly options: TombstoneOptions,
  ) {
    this.startedAt = env.clock.now();
    // anything that changes a held-back key (a peer sent it, a client wrote it) shows the key is known: release it
    deps.store.onChange((key) => {
      if (!this.forgetting.has(key) && this.settle(key)) this.counters.rejoinReleased++;
    });
  }

  get pullOnly(): boolean {
    return this.pullOnlySince !== undefined;
  }

  /**
   * This node was out of contact for longer than the grace period: hold back
   * every key whose versions are all older than it until witnesses answer.
   */
  enterPullOnly(): void {
    const horizon = (this.env.wall ?? this.env.clock).now() - this.options.graceMs;
    for (const key of this.deps.store.keys()) {
      const set = this.deps.store.siblings(key);
      if (set.length > 0 && set.every((v) => v.timestamp.wall < horizon)) this.pending.set(key, new Set());
    }
    if (this.pending.size === 0) return;
    this.pullOnlySince = this.env.clock.now();
    this.env.logger.warn({ keys: this.pending.size }, 'out of contact longer than the tombstone grace period: rejoining pull-only until witnesses vouch for old keys');
    this.nextAskAt = 0;
  }

  /** May the data plane send this key's versions to peers (and a read serve them)? */
  mayOffer(key: string): boolean {
    return !this.pending.has(key);
  }

  /** Calls `listener` with each held-back key once it is settled: released (vouched for) or forgotten. */
  onSettled(listener: (key: string) => void): void {
    this.settledListeners.push(listener);
  }

  /** A client wants a held-back key now: ask witnesses about it at once rather than at the next round. */
  askNow(key: string): void {
    if (!this.pending.has(key)) return;
    for (const peer of this.deps.peers.sample(this.options.witnesses + 2)) this.query(peer, [key]);
  }

  /**
   * Collection: of these all-tombstone keys past the grace period, the ones
   * every live member has confirmed. The rest are asked about again, of a
   * bounded number of the members that have not confirmed them yet (a
   * different slice each sweep), so confirmations accumulate over sweeps.
   */
  collectable(candidates: readonly string[]): string[] {
    const live = this.deps.live();
    const out: string[] = [];
    const ask: string[] = [];
    const wanted = new Set(candidates);
    for (const key of this.confirmations.keys()) if (!wanted.has(key)) this.confirmations.delete(key);
    for (const key of candidates) {
      const by = this.confirmations.get(key) ?? new Set<NodeId>();
      this.confirmations.set(key, by);
      if (live.every((p) => by.has(p.id))) out.push(key);
      else if (ask.length < this.options.askKeysPerSweep) ask.push(key);
    }
    for (const key of out) this.confirmations.delete(key);
    if (ask.length === 0 || live.length === 0) return out;
    const start = this.askCursor % live.length;
    let asked = 0;
    for (let i = 0; i < live.length && asked < this.options.askPeersPerSweep; i++) {
      const at = (start + i) % live.length;
      const peer = live[at] as PeerInfo;
      const keys = ask.filter((k) => !(this.confirmations.get(k)?.has(peer.id) ?? false));
      if (keys.length === 0) continue;
      this.query(peer, keys);
      asked++;
      this.askCursor = at + 1;
    }
    return out;
  }

  tick(): void {
    if (this.pending.size === 0) return;
    const now = this.env.clock.now();
    if (now < this.nextAskAt) return;
    this.nextAskAt = now + this.options.askEveryMs;
    // No witness can ever answer when no peer is live, or when every live peer is rejoining too
    // (the whole cluster was away longer than the grace: nobody collected anything meanwhile).
    // Waiting would hold the keys back for good; after two rounds of asking, release them.
    if (this.pullOnlySince !== undefined && now - this.pullOnlySince >= 2 * this.options.askEveryMs) {
      const live = this.deps.live();
      if (live.length === 0 || live.every((p) => this.rejoiningPeers.has(p.id))) {
        this.releaseAll(live.length === 0 ? 'no live peer' : 'every live peer is rejoining too');
        return;
      }
    }
    const keys = [...this.pending.keys()].slice(0, 16 * LIMITS.maxAeWant);
    for (const peer of this.deps.peers.sample(this.options.witnesses + 2)) this.query(peer, keys);
  }

  handle(msg: GossipMessage): void {
    if (msg.type === 'key-query') this.answer(msg);
    else if (msg.type === 'key-state') void this.onState(msg);
  }

  stats(): TombstoneStats {
    return { rejoinPending: this.pending.size, ...this.counters, pullOnly: this.pullOnly };
  }

  private releaseAll(why: string): void {
    let released = 0;
    for (const key of [...this.pending.keys()]) {
      if (this.forgetting.has(key)) continue;
      if (this.settle(key)) released++;
    }
    this.counters.rejoinReleased += released;
    if (this.pending.size === 0) this.pullOnlySince = undefined;
    this.env.logger.warn({ released, why }, 'rejoin: no witness can answer, so the held-back keys are released unconfirmed');
  }

  /** No longer held back: tell the listeners. False if it was not held back. */
  private settle(key: string): boolean {
    if (!this.pending.delete(key)) return false;
    for (const listener of this.settledListeners) listener(key);
    return true;
  }

  private query(peer: PeerInfo, keys: readonly string[]): void {
    for (let i = 0; i < keys.length; i += LIMITS.maxAeWant) {
      this.env.transport.send(peer, { v: PROTOCOL_VERSION, from: this.env.self.id, type: 'key-query', keys: keys.slice(i, i + LIMITS.maxAeWant) });
    }
  }

  private answer(msg: MessageOf<'key-query'>): void {
    const peer = this.deps.peers.peer(msg.from);
    if (peer === undefined) return;
    const absent: string[] = [];
    const tombstoned: string[] = [];
    const live: string[] = [];
    for (const key of msg.keys) {
      const set = this.deps.store.siblings(key);
      if (set.length === 0) absent.push(key);
      else if (set.every((v) => v.tombstone)) tombstoned.push(key);
      else live.push(key);
    }
    const witness = !this.pullOnly && this.env.clock.now() - this.startedAt >= this.options.witnessUptimeMs;
    this.env.transport.send(peer, { v: PROTOCOL_VERSION, from: this.env.self.id, type: 'key-state', absent, tombstoned, live, witness, rejoining: this.pullOnly });
  }

  private async onState(msg: MessageOf<'key-state'>): Promise<void> {
    if (msg.rejoining === true) this.rejoiningPeers.add(msg.from);
    else this.rejoiningPeers.delete(msg.from);
    // collection: the peer holds the key as tombstones only, or not at all
    for (const key of [...msg.absent, ...msg.tombstoned]) this.confirmations.get(key)?.add(msg.from);
    if (!msg.witness || this.pending.size === 0) return;
    const needed = Math.max(1, Math.min(this.options.witnesses, this.deps.peers.size()));
    for (const key of [...msg.live, ...msg.tombstoned]) {
      if (!this.forgetting.has(key) && this.settle(key)) this.counters.rejoinReleased++;
    }
    for (const key of msg.absent) {
      const deniedBy = this.pending.get(key);
      if (deniedBy === undefined) continue;
      deniedBy.add(msg.from);
      if (deniedBy.size < needed || this.forgetting.has(key)) continue;
      // still held back while the store forgets it: until then the versions are on disk and must not go out
      this.forgetting.add(key);
      this.counters.rejoinForgotten++;
      try {
        await this.deps.forget(key);
      } finally {
        this.forgetting.delete(key);
        this.settle(key);
      }
    }
    if (this.pending.size === 0 && this.pullOnlySince !== undefined) {
      this.pullOnlySince = undefined;
      this.env.logger.info(this.counters, 'rejoin settled: every old key was vouched for or forgotten');
    }
  }
}
