/**
 * What this node learns from its peers' answers (proposal 0011): how far each
 * one's wall clock is from ours (clock-offsets.ts), and whether peers accept
 * our messages at all. A peer past the skew limit is logged at error level,
 * naming it and the offset, at most once a minute; so is this node when most
 * of its peers are past it. /readyz, /cluster, the status page and /metrics
 * read the same figures.
 */
import type { Logger } from '../../log.js';
import { ClockOffsets, CLOCK_OFFSETS_DEFAULTS, type ClockVerdict, type PeerOffset } from '../core/clock-offsets.js';
import type { Clock, NodeId, PeerInfo } from '../core/types.js';
import type { PeerAnswer } from './http-transport.js';

/** Answers count towards acceptance this long. */
const ANSWER_FRESH_MS = 60_000;
const LOG_EVERY_MS = 60_000;

export interface Acceptance {
  /** peers that accepted a message lately (2xx) */
  readonly accepting: number;
  /** peers whose latest answer refused us (401/403: stale timestamp, not registered, banned) */
  readonly refusing: number;
}

export class PeerClocks {
  readonly offsets: ClockOffsets;
  private readonly answers = new Map<NodeId, { accepted: boolean; at: number }>();
  private readonly logged = new Map<NodeId, number>();
  private selfLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly monotonic: Clock, limitMs: number, private readonly logger: Logger) {
    this.offsets = new ClockOffsets({ ...CLOCK_OFFSETS_DEFAULTS, limitMs });
  }

  answered(peer: PeerInfo, answer: PeerAnswer): void {
    const now = this.monotonic.now();
    if (answer.status < 300 || answer.status === 401 || answer.status === 403) {
      this.answers.delete(peer.id);
      if (this.answers.size >= CLOCK_OFFSETS_DEFAULTS.maxPeers) this.answers.delete(this.answers.keys().next().value as NodeId);
      this.answers.set(peer.id, { accepted: answer.status < 300, at: now });
    }
    if (answer.peerTime === undefined) return;
    this.offsets.sample(peer.id, answer.peerTime - (answer.sentAt + answer.answeredAt) / 2, now);
    const o = this.offsets.offset(peer.id);
    if (o?.beyond === true && now - (this.logged.get(peer.id) ?? Number.NEGATIVE_INFINITY) >= LOG_EVERY_MS) {
      this.logged.delete(peer.id);
      if (this.logged.size >= CLOCK_OFFSETS_DEFAULTS.maxPeers) this.logged.delete(this.logged.keys().next().value as NodeId);
      this.logged.set(peer.id, now);
      this.logger.error({ peer: peer.id, address: peer.address, offsetSeconds: round(o.offsetMs), limitSeconds: this.offsets.options.limitMs / 1000 },
        `peer ${peer.id}'s wall clock is ${describe(o.offsetMs)} this node's, past the limit of ${this.offsets.options.limitMs / 1000} s (--max-clock-skew): `
        + 'signed messages between the two are refused; check NTP on both');
    }
    const verdict = this.offsets.verdict(now);
    if (verdict.disagrees && now - this.selfLoggedAt >= LOG_EVERY_MS) {
      this.selfLoggedAt = now;
      this.logger.error({ peers: verdict.peers, beyond: verdict.beyond, medianOffsetSeconds: round(verdict.medianMs) }, clockReason(verdict));
    }
  }

  verdict(): ClockVerdict {
    return this.offsets.verdict(this.monotonic.now());
  }

  acceptance(): Acceptance {
    const now = this.monotonic.now();
    let accepting = 0;
    let refusing = 0;
    for (const a of this.answers.values()) {
      if (now - a.at > ANSWER_FRESH_MS) continue;
      if (a.accepted) accepting++;
      else refusing++;
    }
    return { accepting, refusing };
  }

  /** The offsets of peers heard from lately (a dead or departed peer's drops out after two minutes). */
  all(): PeerOffset[] {
    return this.offsets.fresh(this.monotonic.now());
  }
}

function round(ms: number): number {
  return Math.round(ms / 100) / 10;
}

function describe(offsetMs: number): string {
  return `${Math.abs(round(offsetMs))} s ${offsetMs >= 0 ? 'ahead of' : 'behind'}`;
}

/** Why a node whose clock disagrees with most of its peers is not ready. */
export function clockReason(v: ClockVerdict): string {
  // the peers' median offset from us is minus ours from them
  return `this node's wall clock is ${describe(-v.medianMs)} ${v.beyond} of its ${v.peers} peers, past the limit of ${v.limitMs / 1000} s (--max-clock-skew); check NTP`;
}
