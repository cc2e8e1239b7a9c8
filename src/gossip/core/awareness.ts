/**
 * Lifeguard's local health multiplier (memberlist awareness.go). A node that
 * misses acks and nacks is more likely to be the slow or cut-off one than its
 * peers are, so it stretches its own probe interval and timeout instead of
 * accusing them: both are multiplied by score+1, score in [0, max−1].
 *
 * Deltas: a successful probe −1; a failed probe +1 for each relay that
 * promised a nack and sent none (+1 if no relay was asked); having to refute
 * a suspicion about oneself +1.
 */
export class Awareness {
  private value = 0;

  /** `max` is memberlist's AwarenessMaxMultiplier; 1 disables scaling. */
  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('awareness max must be a positive integer');
  }

  /** The current score, 0 (healthy) to max−1. */
  get score(): number {
    return this.value;
  }

  applyDelta(delta: number): void {
    this.value = Math.min(this.max - 1, Math.max(0, this.value + delta));
  }

  /** A timeout or interval stretched by the local health score. */
  scale(ms: number): number {
    return ms * (this.value + 1);
  }
}
