/**
 * Dead members are not given up on: each is pinged again after
 * base · 2^attempt (capped at max, ±25% jitter), the ping carrying the claim
 * that it is dead, so a member that was only cut off (a healed partition) or
 * has restarted refutes it and rejoins. This is what memberlist lacks
 * (research/gossip.md §5.2, "partitions that never heal"). Members are
 * forgotten only after `reapAfterMs` (membership.ts).
 */
import type { Member, MemberTable } from './member-table.js';
import type { MembershipOptions } from './membership-config.js';
import type { Random } from './types.js';

/** The wait before retry number `attempt` (0 = the first after death), with jitter from `random`. */
export function deadRetryDelayMs(options: Pick<MembershipOptions, 'deadRetryBaseMs' | 'deadRetryMaxMs'>, attempt: number, random: Random): number {
  const raw = Math.min(options.deadRetryMaxMs, options.deadRetryBaseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(raw * (0.75 + 0.5 * random.next()));
}

export class DeadRetry {
  constructor(
    private readonly options: MembershipOptions,
    private readonly random: Random,
  ) {}

  /** A member just died: its first retry comes after the base delay. */
  died(m: Member, now: number): void {
    m.retries = 0;
    m.nextRetryAt = now + deadRetryDelayMs(this.options, 0, this.random);
  }

  /** A dead member sent us something: retry it at once (it may be alive and unaware it is thought dead). */
  heardFrom(m: Member, now: number): void {
    if (m.state === 'dead' && m.nextRetryAt > now) m.nextRetryAt = now;
  }

  /** Dead members whose retry is due now; each is rescheduled with a longer wait. */
  due(table: MemberTable, now: number): Member[] {
    const out: Member[] = [];
    for (const id of table.goneIds()) {
      const m = table.get(id);
      if (m === undefined || m.state !== 'dead' || now < m.nextRetryAt) continue;
      m.retries++;
      m.nextRetryAt = now + deadRetryDelayMs(this.options, m.retries, this.random);
      out.push(m);
    }
    return out;
  }
}
