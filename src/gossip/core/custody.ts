/**
 * Custody: which bodies this node keeps. Every node knows every version
 * (metadata reaches all); bodies are owned by R nodes (placement.ts). Each
 * sweep walks the index and sorts every body named by a live version into
 * one of four heaps:
 *
 * - owned and held: kept;
 * - owned and missing: asked for (a write elsewhere, a node that joined, an
 *   owner that died past the hand-off delay, a lost disk) — this is how
 *   anti-entropy repairs placement: metadata anti-entropy brings the version,
 *   custody brings the body;
 * - held, not owned, not yet confirmed (the hand-off backlog): the node took
 *   the PUT, or owned the body before the member list changed. It asks the
 *   owners which of them hold it (`have-query` / `have`) and keeps its copy
 *   until every owner has said so; only then does the copy become cache or
 *   go. So the last copy is never dropped by placement;
 * - cached (not owned, confirmed held by the owners, or fetched for a read):
 *   bounded by `cacheBytes`, least recently read evicted first.
 *
 * Pure like the rest of the core: time through tick(), messages through
 * handle(), the store and membership injected. Design: proposals/0010-placement.md.
 */
import type { Version } from '../../consensus/types.js';
import { buildOptions } from '../../options.js';
import { LIMITS, PROTOCOL_VERSION, type GossipMessage, type MessageOf } from './messages.js';
import { Placement, type PlacementMember } from './placement.js';
import { PLACEMENT_OPTIONS, type PlacementConfig } from './placement-config.js';
import type { MemberRecord, NodeId, PeerSampler, ProtocolEnv, VersionStore } from './types.js';

export interface CustodyDeps {
  readonly store: VersionStore;
  readonly peers: PeerSampler;
  /** every member this node knows of, any state (self excluded) */
  readonly members: () => Iterable<MemberRecord>;
  /** peers known to hold a body (from `held` lists) */
  readonly knownHolders: (sha256: string) => NodeId[];
  /** a body this node should hold and lacks; `holders` are where to look, best first */
  readonly onBodyNeeded: (version: Version, holders: NodeId[]) => void;
  /** a body was dropped here: stop announcing it */
  readonly onBodyDropped: (sha256: string) => void;
}

export interface CustodyStats {
  /** bodies this node owns and holds, and their bytes */
  ownedBodies: number;
  ownedBytes: number;
  /** bodies it owns but lacks (being fetched) */
  missingBodies: number;
  missingBytes: number;
  /** held copies it does not own, waiting for every owner to confirm (the hand-off backlog) */
  handoffBodies: number;
  handoffBytes: number;
  /** copies it does not own kept as cache */
  cachedBodies: number;
  cachedBytes: number;
  /** copies dropped after the owners confirmed, and cache entries evicted */
  dropped: number;
  evicted: number;
  /** `have-query` shas sent */
  queried: number;
  sweeps: number;
  /** sweeps skipped: nothing changed since the last one and nothing was missing or handed off */
  skipped: number;
  /** members bodies are placed on (self included) */
  placementMembers: number;
  /** times the member list bodies are placed on changed */
  placementChanges: number;
}

/** Counters that survive a sweep; the heap sizes are recounted by each. */
type Counters = Pick<CustodyStats, 'dropped' | 'evicted' | 'queried' | 'sweeps' | 'skipped'>;

export class Custody {
  readonly placement: Placement;
  private readonly options: PlacementConfig;
  /** cached bodies → size, least recently read first */
  private readonly cached = new Map<string, number>();
  /** hand-off copies: owners that confirmed holding each, for the placement epoch they were asked under */
  private readonly confirmed = new Map<string, { epoch: number; by: Set<NodeId>; size: number }>();
  /** owned bodies asked for, and when, so a sweep does not ask again at once */
  private readonly asked = new Map<string, number>();
  private readonly dropping = new Set<string>();
  /**
   * Something a sweep would see differently happened since the last one (a version changed, the
   * placement members changed, a body was cached, dropped or lost). An idle node with nothing
   * missing and no hand-off backlog skips its sweeps: idle cost does not grow with the key count.
   */
  private dirty = true;
  /** a sweep ran after settleMs, acting on what it found */
  private acted = false;
  private readonly startedAt: number;
  private nextSweepAt: number;
  private heaps: Omit<CustodyStats, keyof Counters | 'placementMembers' | 'placementChanges'> = {
    ownedBodies: 0, ownedBytes: 0, missingBodies: 0, missingBytes: 0, handoffBodies: 0, handoffBytes: 0, cachedBodies: 0, cachedBytes: 0,
  };
  private readonly counters: Counters = { dropped: 0, evicted: 0, queried: 0, sweeps: 0, skipped: 0 };

  constructor(
    private readonly env: ProtocolEnv,
    private readonly deps: CustodyDeps,
    options: PlacementConfig,
  ) {
    this.options = buildOptions(PLACEMENT_OPTIONS, {}, options);
    this.placement = new Placement(this.options.replicas);
    this.startedAt = env.clock.now();
    this.nextSweepAt = this.startedAt + Math.floor(env.random.next() * this.options.sweepIntervalMs);
    this.refreshView();
    deps.store.onChange(() => {
      this.dirty = true;
    });
  }

  /** Something outside the store's change events moved (a body lost on disk): sweep again. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Every node owns every body: custody has nothing to sort. */
  get fullReplication(): boolean {
    return this.options.replicas === 'all';
  }

  get writeCopies(): number {
    return this.options.writeCopies;
  }

  /** Does this node own the body (by its current view)? */
  owns(sha256: string): boolean {
    this.refreshView();
    return this.placement.isOwner(sha256, this.env.self.id);
  }

  /** The body's owners by this node's view, best first (self may be among them). */
  owners(sha256: string): readonly NodeId[] {
    this.refreshView();
    return this.placement.owners(sha256);
  }

  /**
   * Where to look for a body, best first: its owners, the peers known to hold
   * it, then the next two in placement order (a former owner, after a join).
   */
  candidates(sha256: string): NodeId[] {
    this.refreshView();
    const out: NodeId[] = [];
    const add = (id: NodeId): void => {
      if (id !== this.env.self.id && !out.includes(id)) out.push(id);
    };
    const ranked = this.placement.ranked(sha256, 2);
    for (const id of ranked.slice(0, ranked.length - 2)) add(id);
    for (const id of this.deps.knownHolders(sha256)) add(id);
    for (const id of ranked) add(id);
    return out;
  }

  /**
   * The data plane adopted a version whose body is not here: fetch it if this
   * node owns it. Not before `settleMs` after start: until then the view of
   * the members is partial (at start() it is empty, so every body would look
   * owned); the first sweep after it asks for what is owned and missing.
   */
  bodyNeeded(version: Version, holders: NodeId[]): void {
    if (!this.fullReplication && (!this.settled() || !this.owns(version.sha256))) return;
    const out = [...holders];
    for (const id of this.candidates(version.sha256)) if (!out.includes(id)) out.push(id);
    this.asked.set(version.sha256, this.env.clock.now());
    this.deps.onBodyNeeded(version, out);
  }

  /** A body was fetched to answer a read, not because this node owns it: it is cache. */
  cachedForRead(sha256: string, size: number): void {
    if (this.fullReplication || this.owns(sha256)) return;
    this.confirmed.delete(sha256);
    this.cached.delete(sha256);
    this.cached.set(sha256, size);
    this.dirty = true;
    this.enforceCacheBound();
  }

  /** A read used this body: it is the most recently used in the cache. */
  touched(sha256: string): void {
    const size = this.cached.get(sha256);
    if (size === undefined) return;
    this.cached.delete(sha256);
    this.cached.set(sha256, size);
  }

  /** Would a read-through copy of this size be kept as cache? */
  cacheAdmits(size: number): boolean {
    return size <= this.options.cacheBytes;
  }

  /**
   * Evicts cached copies, least recently read first, until `free()` reports
   * at least `bytes` (or the cache is empty). For an owned body or a write
   * that needs the space more than the cache does. Returns the bytes evicted.
   */
  makeRoom(bytes: number, free: () => number): number {
    let evicted = 0;
    for (const [sha, size] of this.cached) {
      if (free() + evicted >= bytes) break;
      this.cached.delete(sha);
      this.counters.evicted++;
      evicted += size;
      this.drop(sha);
    }
    return evicted;
  }

  tick(): void {
    const now = this.env.clock.now();
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = Math.max(this.nextSweepAt + this.options.sweepIntervalMs, now + 1);
    this.refreshView();
    const backlog = this.heaps.missingBodies > 0 || this.heaps.handoffBodies > 0;
    if (this.dirty || backlog || !this.acted) this.sweep(now);
    else this.counters.skipped++;
  }

  handle(msg: GossipMessage): void {
    if (msg.type === 'have-query') this.onQuery(msg);
    else if (msg.type === 'have') this.onHave(msg);
  }

  stats(): CustodyStats {
    return { ...this.heaps, ...this.counters, placementMembers: this.placement.size, placementChanges: this.placement.epoch };
  }

  // ---- the sweep ----------------------------------------------------------------

  /** One pass over the index: count the heaps, ask for what is missing, offer what is not ours. */
  sweep(now: number = this.env.clock.now()): void {
    this.counters.sweeps++;
    this.refreshView();
    this.dirty = false;
    const acting = this.settled(now);
    if (acting) this.acted = true;
    const heaps = { ownedBodies: 0, ownedBytes: 0, missingBodies: 0, missingBytes: 0, handoffBodies: 0, handoffBytes: 0, cachedBodies: 0, cachedBytes: 0 };
    const seen = new Set<string>();
    const queries = new Map<NodeId, string[]>();
    let queued = 0;
    let fetches = 0;
    const self = this.env.self.id;
    const { store } = this.deps;
    for (const key of store.keys()) {
      for (const v of store.siblings(key)) {
        if (v.tombstone || seen.has(v.sha256)) continue;
        seen.add(v.sha256);
        const held = store.hasBody(v.sha256);
        // with full replication every body is owned: no ranking needed (it costs O(N log N) a body)
        const owners = this.fullReplication ? undefined : this.placement.owners(v.sha256);
        if (owners === undefined || owners.includes(self)) {
          this.cached.delete(v.sha256);
          this.confirmed.delete(v.sha256);
          if (held) {
            heaps.ownedBodies++;
            heaps.ownedBytes += v.size;
            continue;
          }
          heaps.missingBodies++;
          heaps.missingBytes += v.size;
          const last = this.asked.get(v.sha256);
          if (acting && fetches < this.options.maxFetchesPerSweep && (last === undefined || now - last >= 10 * this.options.sweepIntervalMs)) {
            fetches++;
            this.bodyNeeded(v, []);
          }
          continue;
        }
        if (!held) continue;
        if (this.cached.has(v.sha256)) {
          heaps.cachedBodies++;
          heaps.cachedBytes += v.size;
          continue;
        }
        heaps.handoffBodies++;
        heaps.handoffBytes += v.size;
        if (!acting || queued >= this.options.maxQueriesPerSweep) continue;
        const state = this.confirmation(v.sha256, v.size);
        let asked = false;
        for (const owner of owners) {
          if (state.by.has(owner) || this.deps.peers.peer(owner) === undefined) continue;
          const list = queries.get(owner) ?? [];
          list.push(v.sha256);
          queries.set(owner, list);
          asked = true;
        }
        if (asked) queued++;
      }
    }
    // forget what no live version names any more
    for (const sha of this.cached.keys()) if (!seen.has(sha) || !store.hasBody(sha)) this.cached.delete(sha);
    for (const sha of this.confirmed.keys()) if (!seen.has(sha)) this.confirmed.delete(sha);
    for (const [sha, at] of this.asked) if (!seen.has(sha) || store.hasBody(sha) || now - at >= 10 * this.options.sweepIntervalMs) this.asked.delete(sha);
    this.heaps = heaps;
    for (const [owner, shas] of queries) this.query(owner, shas);
    this.enforceCacheBound();
  }

  /** Has membership had `settleMs` since start to learn who is there? */
  private settled(now: number = this.env.clock.now()): boolean {
    return now - this.startedAt >= this.options.settleMs;
  }

  /** The placement members: self, live members, and the dead within the hand-off delay. */
  private refreshView(): void {
    const now = this.env.clock.now();
    const members: PlacementMember[] = [{ id: this.env.self.id, zone: this.env.zone ?? '' }];
    for (const m of this.deps.members()) {
      if (m.state === 'left') continue;
      if (m.state === 'dead' && now - m.stateSince >= this.options.handoffDelayMs) continue;
      members.push({ id: m.id, zone: m.zone ?? '' });
    }
    if (this.placement.setMembers(members)) this.dirty = true;
  }

  private confirmation(sha256: string, size: number): { epoch: number; by: Set<NodeId>; size: number } {
    const epoch = this.placement.epoch;
    let state = this.confirmed.get(sha256);
    if (state === undefined || state.epoch !== epoch) {
      state = { epoch, by: new Set(), size };
      this.confirmed.set(sha256, state);
    }
    return state;
  }

  private query(owner: NodeId, shas: string[]): void {
    const peer = this.deps.peers.peer(owner);
    if (peer === undefined) return;
    for (let i = 0; i < shas.length; i += LIMITS.maxHeld) {
      const batch = shas.slice(i, i + LIMITS.maxHeld);
      this.counters.queried += batch.length;
      this.env.transport.send(peer, { v: PROTOCOL_VERSION, from: this.env.self.id, type: 'have-query', shas: batch });
    }
  }

  private onQuery(msg: MessageOf<'have-query'>): void {
    const peer = this.deps.peers.peer(msg.from);
    if (peer === undefined) return;
    const held = msg.shas.filter((sha) => this.deps.store.hasBody(sha) && !this.dropping.has(sha));
    this.env.transport.send(peer, { v: PROTOCOL_VERSION, from: this.env.self.id, type: 'have', shas: held });
  }

  /** Owners say they hold these: once every owner has, the copy here becomes cache, or goes. */
  private onHave(msg: MessageOf<'have'>): void {
    this.refreshView();
    for (const sha of msg.shas) {
      const state = this.confirmed.get(sha);
      if (state === undefined || state.epoch !== this.placement.epoch) continue;
      const owners = this.placement.owners(sha);
      if (!owners.includes(msg.from) || owners.includes(this.env.self.id)) continue;
      state.by.add(msg.from);
      if (!owners.every((o) => state.by.has(o))) continue;
      this.confirmed.delete(sha);
      if (!this.deps.store.hasBody(sha)) continue;
      if (state.size <= this.options.cacheBytes) {
        this.cached.set(sha, state.size);
        this.enforceCacheBound();
      } else {
        this.counters.dropped++;
        this.drop(sha);
      }
    }
  }

  private enforceCacheBound(): void {
    let total = 0;
    for (const size of this.cached.values()) total += size;
    for (const [sha, size] of this.cached) {
      if (total <= this.options.cacheBytes) break;
      this.cached.delete(sha);
      total -= size;
      this.counters.evicted++;
      this.drop(sha);
    }
  }

  /** Drops a copy this node does not own (never an owned one, whatever the caller thought). */
  private drop(sha256: string): void {
    if (this.dropping.has(sha256) || this.fullReplication || this.owns(sha256)) return;
    this.dropping.add(sha256);
    this.dirty = true;
    this.deps.onBodyDropped(sha256);
    void this.deps.store.dropBody(sha256)
      .catch((err: unknown) => this.env.logger.warn({ err, sha256 }, 'could not drop a body copy; it stays until the next sweep'))
      .finally(() => this.dropping.delete(sha256));
  }
}
