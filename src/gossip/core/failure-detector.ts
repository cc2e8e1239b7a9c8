/**
 * SWIM failure detection (memberlist state.go probeNode), as a state machine
 * driven by `tick(now)` and by incoming ping/ack/ping-req/nack.
 *
 * Each probe interval it picks the next member from a shuffled round-robin
 * list (reshuffled on each wrap; new members inserted at a random place in
 * what is left of the round), sends a `ping` (carrying the member's suspect
 * claim first, Lifeguard's buddy system) and waits `probeTimeout`. Without an
 * ack it asks `indirectChecks` random peers to ping the member for it
 * (`ping-req`), pings it directly once more (memberlist's fallback probe on
 * a second path) and waits `probeTimeout` again; each relay answers `ack` if
 * the member answered it, `nack` if not. With no ack at all the probe failed and
 * the owner is told (it raises a suspicion). Interval and timeouts are
 * stretched by the local health score (awareness.ts): a success lowers it,
 * every promised nack that never came raises it.
 */
import { PROTOCOL_VERSION, type MemberUpdate } from './messages.js';
import type { Awareness } from './awareness.js';
import type { MembershipOptions } from './membership-config.js';
import type { NodeId, PeerInfo, ProtocolEnv } from './types.js';

/** What the detector needs from the member table. */
export interface DetectorHost {
  /** live member ids, to build a probe round */
  liveIds(): readonly NodeId[];
  /** a member to probe now, if it is still live */
  probeable(id: NodeId): PeerInfo | undefined;
  /** a known member (any state), to answer it */
  peer(id: NodeId): PeerInfo | undefined;
  /** up to `count` random live peers, none of `exclude` */
  sample(count: number, exclude: ReadonlySet<NodeId>): PeerInfo[];
  /** updates to carry first on a ping to this member (its suspect claim) */
  buddyUpdates(id: NodeId): MemberUpdate[] | undefined;
  /** the member answered neither the direct nor any indirect probe */
  probeFailed(id: NodeId): void;
}

/**
 * A relay sends its nack at this fraction of the probe timeout, so that it
 * reaches the prober before the prober's own indirect deadline (Lifeguard
 * suggests 80%; ticks and a round trip must also fit, hence less).
 */
const NACK_AT = 0.6;

interface Probe {
  readonly seq: number;
  readonly target: PeerInfo;
  /** when the direct phase ends and ping-reqs go out */
  readonly directDeadline: number;
  /** when the whole probe fails; set when the indirect phase starts */
  indirectDeadline: number | undefined;
  readonly relays: Set<NodeId>;
  readonly nacks: Set<NodeId>;
}

interface Relay {
  readonly origin: PeerInfo;
  readonly originSeq: number;
  readonly target: NodeId;
  readonly nackAt: number;
}

export interface DetectorStats {
  probes: number;
  probesFailed: number;
  indirectProbes: number;
  relayed: number;
  nacksSent: number;
}

export class FailureDetector {
  private seq: number;
  private probe: Probe | undefined;
  private nextProbeAt: number;
  private round: NodeId[] = [];
  private roundIndex = 0;
  private readonly relays = new Map<number, Relay>();
  readonly stats: DetectorStats = { probes: 0, probesFailed: 0, indirectProbes: 0, relayed: 0, nacksSent: 0 };

  constructor(
    private readonly env: ProtocolEnv,
    private readonly options: MembershipOptions,
    private readonly awareness: Awareness,
    private readonly host: DetectorHost,
  ) {
    this.seq = Math.floor(env.random.next() * 2 ** 31);
    // stagger the first probe so nodes started together do not probe in lockstep
    this.nextProbeAt = env.clock.now() + Math.floor(env.random.next() * options.probeIntervalMs);
  }

  /** A fresh sequence number (also for pings whose ack nobody waits for). */
  nextSeq(): number {
    this.seq = this.seq >= Number.MAX_SAFE_INTEGER ? 0 : this.seq + 1;
    return this.seq;
  }

  /** the member being probed now, if any */
  get probing(): NodeId | undefined {
    return this.probe?.target.id;
  }

  tick(now: number): void {
    this.expireRelays(now);
    const probe = this.probe;
    if (probe !== undefined) {
      if (probe.indirectDeadline === undefined) {
        if (now >= probe.directDeadline) this.startIndirect(probe, now);
      } else if (now >= probe.indirectDeadline) {
        this.fail(probe);
      }
      return;
    }
    if (now >= this.nextProbeAt) this.startProbe(now);
  }

  /** A member joined: give it a random place in what is left of this round. */
  memberAdded(id: NodeId): void {
    const from = this.roundIndex;
    const at = from + Math.floor(this.env.random.next() * (this.round.length - from + 1));
    this.round.splice(at, 0, id);
  }

  onPing(seq: number, from: PeerInfo | undefined): void {
    if (from !== undefined) this.send(from, { type: 'ack', seq });
  }

  onAck(seq: number, from: NodeId): void {
    const probe = this.probe;
    if (probe !== undefined && probe.seq === seq && (from === probe.target.id || probe.relays.has(from))) {
      this.probe = undefined;
      this.awareness.applyDelta(-1);
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined && relay.target === from) {
      this.relays.delete(seq);
      this.send(relay.origin, { type: 'ack', seq: relay.originSeq });
    }
  }

  onNack(seq: number, from: NodeId): void {
    const probe = this.probe;
    if (probe !== undefined && probe.seq === seq && probe.relays.has(from)) probe.nacks.add(from);
  }

  /** Asked by `origin` to ping `target` for it. */
  onPingReq(seq: number, target: PeerInfo, origin: PeerInfo | undefined): void {
    if (origin === undefined) return;
    if (target.id === this.env.self.id) {
      this.send(origin, { type: 'ack', seq });
      return;
    }
    if (this.relays.size >= this.options.maxRelays) return;
    const relaySeq = this.nextSeq();
    const now = this.env.clock.now();
    this.relays.set(relaySeq, { origin, originSeq: seq, target: target.id, nackAt: now + Math.floor(NACK_AT * this.options.probeTimeoutMs) });
    this.stats.relayed++;
    this.send(this.host.peer(target.id) ?? target, { type: 'ping', seq: relaySeq });
  }

  private startProbe(now: number): void {
    const target = this.nextTarget();
    this.nextProbeAt = now + this.awareness.scale(this.options.probeIntervalMs);
    if (target === undefined) return;
    const seq = this.nextSeq();
    this.probe = {
      seq,
      target,
      directDeadline: now + this.awareness.scale(this.options.probeTimeoutMs),
      indirectDeadline: undefined,
      relays: new Set(),
      nacks: new Set(),
    };
    this.stats.probes++;
    this.ping(target, seq);
  }

  /** A probe ping; to a suspect member it carries the suspicion (buddy system). */
  private ping(target: PeerInfo, seq: number): void {
    const updates = this.host.buddyUpdates(target.id);
    this.send(target, updates === undefined ? { type: 'ping', seq } : { type: 'ping', seq, updates });
  }

  private startIndirect(probe: Probe, now: number): void {
    probe.indirectDeadline = now + this.awareness.scale(this.options.probeTimeoutMs);
    // a second direct ping, in place of memberlist's parallel TCP ping: one
    // more independent path, so one lost ping or ack alone cannot cause a suspicion
    this.ping(probe.target, probe.seq);
    if (this.options.indirectChecks === 0) return;
    const relays = this.host.sample(this.options.indirectChecks, new Set([probe.target.id]));
    if (relays.length > 0) this.stats.indirectProbes++;
    for (const relay of relays) {
      probe.relays.add(relay.id);
      this.send(relay, { type: 'ping-req', seq: probe.seq, target: probe.target });
    }
  }

  private fail(probe: Probe): void {
    this.probe = undefined;
    this.stats.probesFailed++;
    // Lifeguard: relays that promised a nack and sent none point at us, not at the target
    this.awareness.applyDelta(probe.relays.size > 0 ? probe.relays.size - probe.nacks.size : 1);
    // the member may have died or left while we waited; only a live one is suspected
    if (this.host.probeable(probe.target.id) !== undefined) this.host.probeFailed(probe.target.id);
  }

  private nextTarget(): PeerInfo | undefined {
    let reshuffled = false;
    for (;;) {
      if (this.roundIndex >= this.round.length) {
        if (reshuffled) return undefined;
        this.newRound();
        reshuffled = true;
        if (this.round.length === 0) return undefined;
      }
      const id = this.round[this.roundIndex++] as NodeId;
      const target = this.host.probeable(id);
      if (target !== undefined) return target;
    }
  }

  private newRound(): void {
    const ids = [...this.host.liveIds()];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(this.env.random.next() * (i + 1));
      [ids[i], ids[j]] = [ids[j] as NodeId, ids[i] as NodeId];
    }
    this.round = ids;
    this.roundIndex = 0;
  }

  private expireRelays(now: number): void {
    if (this.relays.size === 0) return;
    for (const [seq, relay] of this.relays) {
      if (now < relay.nackAt) continue;
      this.relays.delete(seq);
      this.stats.nacksSent++;
      this.send(relay.origin, { type: 'nack', seq: relay.originSeq });
    }
  }

  private send(to: PeerInfo, body: { type: 'ping' | 'ack' | 'nack'; seq: number; updates?: MemberUpdate[] } | { type: 'ping-req'; seq: number; target: PeerInfo }): void {
    this.env.transport.send(to, { v: PROTOCOL_VERSION, from: this.env.self.id, ...body });
  }
}
