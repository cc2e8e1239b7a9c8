/**
 * Membership: who is in the cluster and who is alive, SWIM-style with
 * Lifeguard's refinements (proposals/0001-gossip-protocol.md, "Membership and
 * failure detection"). A pure state machine: time comes in through `tick()`,
 * messages through `handle()`, and it sends through the injected transport.
 *
 * - Claims about members travel as `updates` piggybacked on every message
 *   (broadcast-queue.ts) and, while any are queued, on a gossip message to a
 *   few random peers; `supersedes` (member-table.ts) decides what is news.
 * - Failure detection is failure-detector.ts; a failed probe raises a
 *   suspicion (suspicion.ts) that expires into `dead` unless the member
 *   refutes it by raising its incarnation.
 * - A full push-pull of the table with one random live peer repairs what
 *   gossip missed; there a remote `dead` only makes the member `suspect`.
 * - Dead members are pinged with backoff, carrying the claim that they are
 *   dead, so a healed partition or a restarted node refutes and rejoins.
 * - Above `maxPeers` live members, probes, relays, gossip, push-pull and the
 *   data plane's partners (through `sample`) are drawn from the active view
 *   (active-view.ts), refilled from the rest of the table when an active
 *   peer dies or leaves and rotated one peer per push-pull interval. At or
 *   below it nothing of the view is used: every path is the full-mesh one.
 */
import { LIMITS, PROTOCOL_VERSION, type GossipMessage, type MemberUpdate, type MessageBody } from './messages.js';
import { ActiveView, type ViewCandidate } from './active-view.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { DeadRetry } from './dead-retry.js';
import { FailureDetector } from './failure-detector.js';
import { MemberTable, isLive, peerInfo, supersedes, toRecord, toUpdate, type Member } from './member-table.js';
import type { MembershipOptions } from './membership-config.js';
import { PushPullSchedule } from './push-pull-schedule.js';
import { Suspicion, suspicionBounds } from './suspicion.js';
import type { Logger } from '../../log.js';
import type { MemberRecord, MemberState, NodeId, PeerInfo, PeerSampler, ProtocolEnv } from './types.js';

export type { MembershipOptions } from './membership-config.js';
export { MEMBERSHIP_OPTIONS, MEMBERSHIP_PROFILES } from './membership-config.js';

/** Counters an operator (or a simulation) asks about. */
export interface MembershipStats {
  suspicionsRaised: number;
  refutations: number;
  declaredDead: number;
  pushPulls: number;
  deadRetries: number;
}

/** Ring successors every active view holds (active-view.ts): each member has at least this many probers. */
const RING_PEERS = 2;

export class Membership implements PeerSampler {
  private readonly table: MemberTable;
  private readonly queue: BroadcastQueue;
  private readonly awareness: Awareness;
  private readonly detector: FailureDetector;
  private readonly retry: DeadRetry;
  private readonly log: Logger;
  private readonly listeners: ((m: MemberRecord) => void)[] = [];
  private ownIncarnation = 0;
  private leaving = false;
  /** no suspicion can expire before this local time (see expireSuspicions) */
  private nextSuspicionDeadline = Infinity;
  private nextGossipAt: number;
  private readonly syncs: PushPullSchedule;
  private nextReapAt: number;
  private lastRevivalSyncAt = -Infinity;
  private readonly view: ActiveView;
  /** the view needs a refill (an active peer went, members came); refills wait for nextRefillAt */
  private viewDirty = true;
  private nextRefillAt = -Infinity;
  private nextRotateAt: number;
  readonly stats: MembershipStats = { suspicionsRaised: 0, refutations: 0, declaredDead: 0, pushPulls: 0, deadRetries: 0 };

  constructor(
    private readonly env: ProtocolEnv,
    private readonly options: MembershipOptions,
  ) {
    this.log = env.logger.child({ part: 'membership' });
    this.table = new MemberTable(options.maxMembers);
    this.queue = new BroadcastQueue(options.retransmitMult, options.maxBroadcasts);
    this.awareness = new Awareness(options.awarenessMax);
    this.retry = new DeadRetry(options, env.random);
    this.view = new ActiveView(env.self.id, env.self.address, { maxPeers: options.maxPeers, ringPeers: RING_PEERS }, env.random);
    this.detector = new FailureDetector(env, options, this.awareness, {
      liveIds: () => (this.limited ? this.view.members() : this.table.liveIds()),
      probeable: (id) => {
        const m = this.table.get(id);
        return m !== undefined && isLive(m.state) && (!this.limited || this.view.has(id)) ? peerInfo(m) : undefined;
      },
      peer: (id) => {
        const m = this.table.get(id);
        return m === undefined ? undefined : peerInfo(m);
      },
      sample: (count, exclude) => this.sample(count, exclude),
      buddyUpdates: (id) => {
        const m = this.table.get(id);
        return m?.state === 'suspect' ? [toUpdate(m, this.env.self.id)] : undefined;
      },
      probeFailed: (id) => this.suspectFromProbe(id),
    });
    const now = env.clock.now();
    const stagger = () => Math.floor(env.random.next() * options.gossipIntervalMs);
    this.nextGossipAt = now + stagger();
    this.syncs = new PushPullSchedule(options, env.random, now);
    this.nextRotateAt = now + options.pushPullIntervalMs;
    this.nextReapAt = now + options.probeIntervalMs;
    this.queue.push(this.selfUpdate());
  }

  get incarnation(): number {
    return this.ownIncarnation;
  }

  /** Lifeguard local health score (0 = healthy). */
  get health(): number {
    return this.awareness.score;
  }

  /** Member updates waiting to be sent. */
  get pendingUpdates(): number {
    return this.queue.size;
  }

  /** Probe counters of the failure detector. */
  get probeStats(): FailureDetector['stats'] {
    return this.detector.stats;
  }

  onChange(listener: (m: MemberRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Unknown peers become alive@0 and a few of them are pushed-pulled with; known ones are untouched. */
  addSeeds(peers: PeerInfo[]): void {
    const now = this.env.clock.now();
    const added: NodeId[] = [];
    for (const p of peers) {
      if (p.id === this.env.self.id || this.table.get(p.id) !== undefined) continue;
      // not announced: only the member itself (or a sync) vouches for its state
      const m = this.addMember(peerInfo(p), 0, now, false);
      if (m !== undefined) added.push(m.id);
    }
    this.syncs.seeds(added);
  }

  tick(): void {
    const now = this.env.clock.now();
    if (now >= this.nextGossipAt) {
      this.nextGossipAt = now + this.options.gossipIntervalMs;
      this.gossip();
    }
    if (this.leaving) return;
    this.maintainView(now);
    this.detector.tick(now);
    this.expireSuspicions(now);
    for (const id of this.syncs.takeSeeds()) {
      const m = this.table.get(id);
      if (m !== undefined) this.pushPull(m, true);
    }
    if (this.syncs.due(now, this.table.liveCount + 1)) {
      const [peer] = this.pick(1);
      if (peer !== undefined) this.pushPull(peer, true);
    }
    this.retryDead(now);
    if (now >= this.nextReapAt) {
      this.nextReapAt = now + this.options.probeIntervalMs;
      this.reap(now);
    }
  }

  /**
   * Every incoming message comes here. `sender` is the verified sender's
   * PeerInfo if the runtime has it: it lets this node answer a peer it does
   * not know yet (it never adds the sender to the table by itself).
   */
  handle(msg: GossipMessage, sender?: PeerInfo): void {
    if (msg.from === this.env.self.id) return;
    for (const u of msg.updates ?? []) this.apply(u, msg.from, false);
    const now = this.env.clock.now();
    const known = this.table.get(msg.from);
    if (known !== undefined) {
      known.lastContact = now;
      this.retry.heardFrom(known, now);
    }
    // Answer where the verified message came from: a member that restarted at
    // a new address (a container started again can get a new IP) is at its old one in the table
    // until it refutes, and it can only refute once it hears our answers.
    const replyTo = sender ?? (known === undefined ? undefined : peerInfo(known));
    switch (msg.type) {
      case 'ping':
        this.detector.onPing(msg.seq, replyTo);
        return;
      case 'ack':
        this.detector.onAck(msg.seq, msg.from);
        return;
      case 'nack':
        this.detector.onNack(msg.seq, msg.from);
        return;
      case 'ping-req':
        this.detector.onPingReq(msg.seq, msg.target, replyTo);
        return;
      case 'members': {
        for (const u of msg.members) this.apply(u, msg.from, true);
        const member = this.table.get(msg.from);
        const to = replyTo ?? (member === undefined ? undefined : peerInfo(member));
        if (msg.reply && to !== undefined) this.pushPull(to, false);
        return;
      }
      case 'leave':
        if (known !== undefined) this.apply({ ...toUpdate(known), incarnation: msg.incarnation, state: 'left' }, msg.from, false);
        return;
      default:
        return;
    }
  }

  /** Updates to attach to the next outgoing message, each counted as one transmission. */
  piggyback(max: number = LIMITS.maxPiggybackUpdates): MemberUpdate[] | undefined {
    const updates = this.queue.take(Math.min(max, LIMITS.maxPiggybackUpdates), this.table.liveCount + 1);
    return updates.length === 0 ? undefined : updates;
  }

  /** Graceful leave: `left` at a new incarnation, told to a few peers and gossiped; probing stops. */
  leave(): void {
    if (this.leaving) return;
    this.leaving = true;
    this.ownIncarnation++;
    this.queue.push(this.selfUpdate());
    for (const peer of this.pick(this.options.leaveFanout)) {
      this.send(peer, { type: 'leave', incarnation: this.ownIncarnation });
    }
    this.log.info({ incarnation: this.ownIncarnation }, 'leaving the cluster');
  }

  members(): MemberRecord[] {
    return [...this.table.all()].map(toRecord);
  }

  /** Peers worth persisting for a restart: the live ones, or the dead ones if none is live. */
  snapshot(): PeerInfo[] {
    const all = [...this.table.all()];
    const live = all.filter((m) => isLive(m.state));
    return (live.length > 0 ? live : all.filter((m) => m.state === 'dead')).map(peerInfo);
  }

  /** Up to `count` random live peers: from the active view above maxPeers members, from every member at or below. */
  sample(count: number, exclude?: ReadonlySet<NodeId>): PeerInfo[] {
    return this.pick(count, exclude).map(peerInfo);
  }

  /** True while there are more live members than maxPeers: the active view is in use. */
  get limited(): boolean {
    return this.table.liveCount > this.options.maxPeers;
  }

  /** The active peers: every live member at or below maxPeers of them, else the active view. */
  activePeers(): PeerInfo[] {
    if (!this.limited) return this.table.liveIds().map((id) => peerInfo(this.table.get(id) as Member));
    return this.view.members().map((id) => peerInfo(this.table.get(id) as Member));
  }

  /** Whether `id` is an active peer now (the transport keeps connections only to those). */
  isActive(id: NodeId): boolean {
    if (!this.limited) return this.peer(id) !== undefined;
    return this.view.has(id);
  }

  peer(id: NodeId): PeerInfo | undefined {
    const m = this.table.get(id);
    return m !== undefined && isLive(m.state) ? peerInfo(m) : undefined;
  }

  size(): number {
    return this.table.liveCount;
  }

  // ---- merge rules ---------------------------------------------------------

  /**
   * Applies one claim heard from `via`. In a full sync (`fromSync`) a remote
   * `dead` only makes the member suspect here: this node checks for itself.
   */
  private apply(u: MemberUpdate, via: NodeId, fromSync: boolean): void {
    if (u.id === this.env.self.id) {
      this.applyAboutSelf(u);
      return;
    }
    const state: MemberState = fromSync && u.state === 'dead' ? 'suspect' : u.state;
    const accuser = fromSync ? via : (u.by ?? via);
    const now = this.env.clock.now();
    const m = this.table.get(u.id);
    if (m === undefined) {
      // only an alive claim introduces a member; stale rumors about strangers are dropped
      if (state === 'alive') this.addMember(u, u.incarnation, now, true, u.zone);
      return;
    }
    // a zone is the member's own word: taken from any claim that carries one (it is fixed for a run)
    if (u.zone !== undefined && u.zone !== m.zone && (via === m.id || m.zone === undefined)) {
      m.zone = u.zone;
      this.changed(m);
    }
    if (!supersedes({ incarnation: u.incarnation, state }, m)) {
      if (state === 'suspect' && m.state === 'suspect' && u.incarnation === m.incarnation) this.confirm(m, accuser);
      return;
    }
    const revived = !isLive(m.state) && state === 'alive';
    if (state === 'alive' && u.incarnation > m.incarnation) m.address = u.address;
    m.incarnation = u.incarnation;
    this.transition(m, state, now, accuser);
    // a member came back and told us itself: merge views with it at once (a healed partition)
    if (revived && via === m.id && now - this.lastRevivalSyncAt >= this.options.probeIntervalMs) {
      this.lastRevivalSyncAt = now;
      this.pushPull(m, true);
    }
  }

  private applyAboutSelf(u: MemberUpdate): void {
    if (this.leaving) return;
    if (u.state === 'alive') {
      // our own claim from before a restart: carry on from it
      if (u.incarnation > this.ownIncarnation) this.ownIncarnation = u.incarnation;
      return;
    }
    if (u.incarnation >= this.ownIncarnation) {
      // refute: a higher incarnation beats every claim about the old one
      this.ownIncarnation = u.incarnation + 1;
      this.awareness.applyDelta(1);
      this.stats.refutations++;
      this.log.debug({ claim: u.state, by: u.by, incarnation: this.ownIncarnation }, 'refuting a claim about this node');
    }
    // stale or refuted, the sender needs to hear that we are alive
    this.queue.push(this.selfUpdate());
  }

  private transition(m: Member, state: MemberState, now: number, accuser: NodeId): void {
    const previous = m.state;
    m.suspicion = undefined;
    if (state !== previous) {
      this.table.setState(m, state);
      m.stateSince = now;
    }
    if (state === 'suspect') {
      m.suspicion = new Suspicion(accuser, now, suspicionBounds(this.options, this.table.liveCount + 1));
      this.nextSuspicionDeadline = Math.min(this.nextSuspicionDeadline, m.suspicion.deadline());
    } else if (state === 'dead') {
      this.retry.died(m, now);
    }
    if (state === 'alive' && !isLive(previous)) this.detector.memberAdded(m.id);
    if (isLive(state) !== isLive(previous)) {
      this.viewDirty = true;
      if (!isLive(state)) this.view.remove(m.id);
    }
    const by = state === 'suspect' || state === 'dead' ? accuser : undefined;
    this.queue.push(toUpdate(m, by));
    if (state !== previous) this.changed(m);
  }

  private confirm(m: Member, accuser: NodeId): void {
    if (m.suspicion?.confirm(accuser) !== true) return;
    this.nextSuspicionDeadline = Math.min(this.nextSuspicionDeadline, m.suspicion.deadline());
    this.queue.push(toUpdate(m, accuser));
  }

  private addMember(p: PeerInfo, incarnation: number, now: number, announce: boolean, zone?: string): Member | undefined {
    const m = this.table.add({
      id: p.id,
      address: p.address,
      publicKey: p.publicKey,
      incarnation,
      state: 'alive',
      stateSince: now,
      lastContact: null,
      suspicion: undefined,
      retries: 0,
      nextRetryAt: 0,
      zone,
    });
    if (m === undefined) return undefined;
    this.detector.memberAdded(m.id);
    this.viewDirty = true;
    if (announce) this.queue.push(toUpdate(m));
    this.changed(m);
    return m;
  }

  // ---- failure detection ---------------------------------------------------

  private suspectFromProbe(id: NodeId): void {
    const m = this.table.get(id);
    if (m === undefined) return;
    const self = this.env.self.id;
    if (m.state === 'suspect') {
      this.confirm(m, self);
      return;
    }
    if (m.state !== 'alive') return;
    this.stats.suspicionsRaised++;
    this.transition(m, 'suspect', this.env.clock.now(), self);
  }

  /**
   * Declares dead every suspect whose timer ran out. Ticks come far more often
   * than deadlines, so the walk over the suspects waits for the earliest one
   * (a suspicion cleared early only costs one walk that finds nothing).
   */
  private expireSuspicions(now: number): void {
    if (now < this.nextSuspicionDeadline) return;
    this.nextSuspicionDeadline = Infinity;
    for (const id of this.table.suspectIds()) {
      const m = this.table.get(id);
      if (m?.suspicion === undefined) continue;
      if (!m.suspicion.expired(now)) {
        this.nextSuspicionDeadline = Math.min(this.nextSuspicionDeadline, m.suspicion.deadline());
        continue;
      }
      this.stats.declaredDead++;
      this.log.debug({ member: id, incarnation: m.incarnation, confirmations: m.suspicion.confirmations }, 'suspicion expired: dead');
      this.transition(m, 'dead', now, this.env.self.id);
    }
  }

  /** Pings each dead member whose retry is due, carrying the claim it is dead so it can refute. */
  private retryDead(now: number): void {
    for (const m of this.retry.due(this.table, now)) {
      this.stats.deadRetries++;
      this.send(m, { type: 'ping', seq: this.detector.nextSeq(), updates: [toUpdate(m)] });
    }
  }

  private reap(now: number): void {
    for (const id of this.table.goneIds()) {
      const m = this.table.get(id);
      if (m === undefined || now - m.stateSince < this.options.reapAfterMs) continue;
      this.table.delete(id);
      this.queue.remove(id);
      this.log.debug({ member: id, state: m.state }, 'forgotten');
    }
  }

  // ---- dissemination -------------------------------------------------------

  /** While updates are queued, send them to a few random peers (an empty `members` push carries them). */
  private gossip(): void {
    if (this.queue.size === 0 || this.options.gossipNodes === 0) return;
    for (const peer of this.pick(this.options.gossipNodes)) {
      const updates = this.piggyback();
      if (updates === undefined) return;
      this.send(peer, { type: 'members', members: [], reply: false, updates });
    }
  }

  /** Sends our whole table (self first) to `peer`; `reply` asks for its table in return. */
  private pushPull(peer: PeerInfo, reply: boolean): void {
    if (reply) this.stats.pushPulls++;
    const members: MemberUpdate[] = [this.selfUpdate()];
    for (const m of this.table.all()) {
      if (members.length >= LIMITS.maxMembers) break;
      members.push(toUpdate(m));
    }
    this.send(peer, { type: 'members', members, reply });
  }

  // ---- the active view ------------------------------------------------------

  /** Up to `count` live members to talk to: the full-mesh draw at or below maxPeers, the active view's above. */
  private pick(count: number, exclude?: ReadonlySet<NodeId>): Member[] {
    if (!this.limited) return this.table.sample(count, this.env.random, exclude);
    this.maintainView(this.env.clock.now());
    return this.view.sample(count, this.env.random, exclude).map((id) => this.table.get(id) as Member);
  }

  /**
   * Above maxPeers: refills the view when it is dirty (at most once a probe
   * interval, or at once when it has fallen below half), and rotates one
   * non-ring peer out each push-pull interval. At or below: nothing.
   */
  private maintainView(now: number): void {
    if (!this.limited) {
      this.viewDirty = true;
      return;
    }
    if (now >= this.nextRotateAt) {
      this.nextRotateAt = now + this.options.pushPullIntervalMs;
      const out = this.view.rotateOut();
      this.refillView(now, out);
      return;
    }
    if (!this.viewDirty) return;
    if (now < this.nextRefillAt && 2 * this.view.size >= this.options.maxPeers) return;
    this.refillView(now);
  }

  private refillView(now: number, avoid?: NodeId): void {
    this.viewDirty = false;
    this.nextRefillAt = now + this.options.probeIntervalMs;
    const live: ViewCandidate[] = [];
    for (const id of this.table.liveIds()) {
      const m = this.table.get(id) as Member;
      live.push({ id, address: m.address, since: m.stateSince });
    }
    for (const id of this.view.refill(live, avoid)) this.detector.memberAdded(id);
    // short of maxPeers (a rotated-out peer was the only candidate, or the address cap binds): try again next interval
    this.viewDirty = this.view.size < this.options.maxPeers;
  }

  private selfUpdate(): MemberUpdate {
    const { id, address, publicKey } = this.env.self;
    const update: MemberUpdate = { id, address, publicKey, incarnation: this.ownIncarnation, state: this.leaving ? 'left' : 'alive' };
    if (this.env.zone !== undefined) update.zone = this.env.zone;
    return update;
  }

  private send(to: PeerInfo, body: MessageBody): void {
    const message: GossipMessage = { v: PROTOCOL_VERSION, from: this.env.self.id, ...body };
    this.env.transport.send(peerInfo(to), message);
  }

  private changed(m: Member): void {
    this.log.debug({ member: m.id, state: m.state, incarnation: m.incarnation }, 'member state');
    if (this.listeners.length === 0) return;
    const record = toRecord(m);
    for (const listener of this.listeners) listener(record);
  }
}
