/**
 * How far each peer's wall clock is from this node's (proposal 0011). Every
 * answer to a signed request carries the peer's wall clock; the shell turns
 * it into a sample (peer's time minus the midpoint of the exchange, so the
 * round trip cancels out) and this keeps, per peer, the median of the last
 * samples: one delayed answer cannot move it.
 *
 * The verdict: a peer is "beyond" when its median offset is past the skew
 * limit. When most of the peers heard from lately are beyond, the odd one out
 * is this node: /readyz says so. Pure: times come from the caller.
 */
import type { NodeId } from './types.js';

export interface ClockOffsetsOptions {
  /** the skew limit (--max-clock-skew), ms */
  readonly limitMs: number;
  /** samples kept per peer; the median of them is the peer's offset */
  readonly samples: number;
  /** peers whose last sample is older than this take no part in the verdict (dead, or gone) */
  readonly freshMs: number;
  /** peers tracked at most; past it the one heard from longest ago is forgotten */
  readonly maxPeers: number;
}

export const CLOCK_OFFSETS_DEFAULTS: Omit<ClockOffsetsOptions, 'limitMs'> = { samples: 16, freshMs: 120_000, maxPeers: 10_000 };

export interface PeerOffset {
  readonly peer: NodeId;
  /** median of the samples, ms: positive when the peer's clock is ahead of ours */
  readonly offsetMs: number;
  readonly beyond: boolean;
  /** when the last sample came (the caller's clock) */
  readonly at: number;
}

export interface ClockVerdict {
  /** peers heard from lately */
  readonly peers: number;
  /** of them, those whose offset is past the limit */
  readonly beyond: number;
  /** median of their offsets, ms (0 with no peer) */
  readonly medianMs: number;
  /** true when most of those peers are past the limit: this node's clock is the one off */
  readonly disagrees: boolean;
  readonly limitMs: number;
}

interface Track {
  readonly ring: number[];
  next: number;
  at: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export class ClockOffsets {
  private readonly tracks = new Map<NodeId, Track>();

  constructor(readonly options: ClockOffsetsOptions) {}

  /** One sample: `offsetMs` = the peer's clock minus ours, measured at `at`. Non-finite samples are ignored. */
  sample(peer: NodeId, offsetMs: number, at: number): void {
    if (!Number.isFinite(offsetMs)) return;
    let t = this.tracks.get(peer);
    if (t === undefined) {
      if (this.tracks.size >= this.options.maxPeers) this.forgetOldest();
      t = { ring: [], next: 0, at };
      this.tracks.set(peer, t);
    } else {
      // most recently heard from last, so the oldest is first when the map is full
      this.tracks.delete(peer);
      this.tracks.set(peer, t);
    }
    if (t.ring.length < this.options.samples) t.ring.push(offsetMs);
    else t.ring[t.next] = offsetMs;
    t.next = (t.next + 1) % this.options.samples;
    t.at = at;
  }

  private forgetOldest(): void {
    const first = this.tracks.keys().next();
    if (first.done !== true) this.tracks.delete(first.value);
  }

  forget(peer: NodeId): void {
    this.tracks.delete(peer);
  }

  offset(peer: NodeId): PeerOffset | undefined {
    const t = this.tracks.get(peer);
    if (t === undefined) return undefined;
    const offsetMs = median(t.ring);
    return { peer, offsetMs, beyond: Math.abs(offsetMs) > this.options.limitMs, at: t.at };
  }

  /** Every tracked peer's offset. */
  all(): PeerOffset[] {
    return [...this.tracks.keys()].map((p) => this.offset(p) as PeerOffset);
  }

  /** The peers sampled within freshMs of `now`: those the verdict counts. */
  fresh(now: number): PeerOffset[] {
    return this.all().filter((o) => now - o.at <= this.options.freshMs);
  }

  verdict(now: number): ClockVerdict {
    const fresh = this.fresh(now);
    const beyond = fresh.filter((o) => o.beyond).length;
    return {
      peers: fresh.length,
      beyond,
      medianMs: median(fresh.map((o) => o.offsetMs)),
      disagrees: fresh.length > 0 && beyond * 2 > fresh.length,
      limitMs: this.options.limitMs,
    };
  }
}
