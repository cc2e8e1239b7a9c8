/**
 * Membership and failure-detection timing: named profiles and their rules,
 * declared once for the options module (src/options.ts), which merges
 * overrides, validates (unknown keys refused, each message naming the option
 * and its rule: `membership.probeTimeoutMs: must be at most half of ...`) and
 * freezes: `buildOptions(MEMBERSHIP_OPTIONS, overrides, 'localTest')`.
 * Modelled on memberlist's DefaultLANConfig and DefaultLocalConfig
 * (research/gossip.md §1); N below is the number of live nodes including this
 * one. Design: proposals/0001-gossip-protocol.md.
 */
import { z } from 'zod';
import { defineOptions, type Profiles } from '../../options.js';
import { LIMITS } from './messages.js';

export interface MembershipOptions {
  /**
   * How often the runtime should call `tick()`. Every deadline below is only
   * noticed on a tick, so this is the timing resolution; it must be at most a
   * quarter of `probeTimeoutMs` so a relay's nack beats the prober's deadline.
   */
  readonly tickMs: number;
  /**
   * One probe (ping, then ping-req) per interval, round-robin over a shuffled
   * list: a crashed member is first probed after ~1 interval on average and
   * at worst 2N−1 intervals (SWIM). Shorter detects sooner and costs more
   * messages (2 per node per interval when healthy).
   */
  readonly probeIntervalMs: number;
  /**
   * Wait for a direct ack before asking `indirectChecks` peers; the indirect
   * phase gets as long again, so 2 × probeTimeoutMs ≤ probeIntervalMs. Should
   * exceed the 99th-percentile round trip; shorter means more needless
   * indirect probes, longer means slower detection.
   */
  readonly probeTimeoutMs: number;
  /**
   * Peers asked to ping a member that missed its direct ack (SWIM k). Each
   * takes another path, so a lossy or broken link alone does not cause a
   * suspicion: with loss p per message, a probe fails with ≈ (1−(1−p)²)·(1−(1−p)⁴)^k.
   */
  readonly indirectChecks: number;
  /**
   * Suspicion timeout floor: min = suspicionMult · ceil(log10(N+1)) · probeIntervalMs.
   * Longer gives a wrongly suspected member more time to refute (fewer false
   * deaths) and delays the declaration of real ones. Lifeguard waits for
   * k = suspicionMult − 2 independent confirmations to reach the floor.
   */
  readonly suspicionMult: number;
  /**
   * Suspicion timeout ceiling, as a multiple of the floor: max = suspicionMaxTimeoutMult · min,
   * the wait when nobody else confirms. Timer: max(min, max − (max−min)·log(c+1)/log(k+1))
   * after c confirmations.
   */
  readonly suspicionMaxTimeoutMult: number;
  /**
   * Each update is sent retransmitMult · ceil(log10(N+1)) times (memberlist).
   * Higher spreads more reliably under loss and costs more piggyback space.
   */
  readonly retransmitMult: number;
  /**
   * While updates are queued, send them to `gossipNodes` random peers this
   * often (idle clusters send nothing). An update reaches everyone in about
   * log_{gossipNodes}(N) intervals; faster costs more messages.
   */
  readonly gossipIntervalMs: number;
  readonly gossipNodes: number;
  /**
   * Full membership push-pull with one random live peer, every interval ×
   * (ceil(log2 N − 5) + 1) above 32 nodes (memberlist). Repairs whatever
   * piggybacking missed; each sync sends the whole table (~170 bytes a member).
   */
  readonly pushPullIntervalMs: number;
  /** New seeds (from the Point's look or a persisted list) pushed-pulled with at once. */
  readonly joinFanout: number;
  /** Peers told directly on a graceful leave (the `left` update also spreads by gossip). */
  readonly leaveFanout: number;
  /**
   * Dead members are pinged (carrying the claim that they are dead, so a live
   * one refutes) after base · 2^attempt, capped at max, ±25% jitter. Lower
   * heals partitions and restarts faster, at one ping per dead member per retry.
   */
  readonly deadRetryBaseMs: number;
  readonly deadRetryMaxMs: number;
  /**
   * Dead and left members are forgotten this long after their last state
   * change. Until then they are retried and their death is carried by syncs
   * (so it is not undone by stale alive claims); after it, only the Point can
   * reintroduce them.
   */
  readonly reapAfterMs: number;
  /**
   * Lifeguard local health: probe interval and timeout are multiplied by
   * score+1, score in [0, awarenessMax−1]. A node that misses nacks (so is
   * itself likely slow or cut off) probes less eagerly instead of accusing
   * healthy peers. 1 disables it.
   */
  readonly awarenessMax: number;
  /** Members kept in the table (self excluded); the oldest dead/left are evicted first. */
  readonly maxMembers: number;
  /** Member updates waiting for retransmission; the most-sent are dropped first. */
  readonly maxBroadcasts: number;
  /** ping-req relays in flight at once; more are ignored. */
  readonly maxRelays: number;
  /**
   * The active view's size (--max-peers): the peers this node probes, relays
   * through, gossips to, pushes-pulls with and keeps connections to
   * (active-view.ts). At or below it live members, every member is a peer
   * (the full mesh, as before the cap). Lower bounds connections and probe
   * state; too low slows dissemination (fan-out is drawn from fewer peers)
   * and leaves fewer probers per member. 32: memberlist's own scaling
   * threshold, so clusters of up to 33 nodes run exactly as before, and
   * log2(10,000) + c ≈ 14 + c is well inside it (HyParView sizes its view
   * log n + c). Each active peer costs up to transport.connectionsPerPeer
   * keep-alive connections.
   */
  readonly maxPeers: number;
}

/**
 * production: memberlist's LAN timing (1 s probes, 500 ms timeout, 3
 * indirect checks, suspicion 4/6, retransmit 4). Suspicion min→max is
 * 8→48 s at N = 10, 12→72 s at 100, 16→96 s at 1,000; an update is sent
 * 8/12/16 times per node at N = 10/100/1,000.
 *
 * localTest: short timings for real processes on loopback (integration
 * tests): a crash is suspected within about a second and declared dead in
 * 1.5 s (floor, N ≤ 9) to 6 s (nobody confirms).
 */
const profiles: Profiles<MembershipOptions> = {
  production: {
    tickMs: 100,
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    retransmitMult: 4,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    pushPullIntervalMs: 30_000,
    joinFanout: 3,
    leaveFanout: 3,
    deadRetryBaseMs: 2_000,
    deadRetryMaxMs: 60_000,
    reapAfterMs: 24 * 60 * 60 * 1000,
    awarenessMax: 8,
    maxMembers: LIMITS.maxMembers - 1,
    maxBroadcasts: LIMITS.maxMembers,
    maxRelays: 256,
    maxPeers: 32,
  },
  localTest: {
    tickMs: 50,
    probeIntervalMs: 500,
    probeTimeoutMs: 200,
    indirectChecks: 2,
    suspicionMult: 3,
    suspicionMaxTimeoutMult: 4,
    retransmitMult: 3,
    gossipIntervalMs: 100,
    gossipNodes: 3,
    pushPullIntervalMs: 5_000,
    joinFanout: 3,
    leaveFanout: 3,
    deadRetryBaseMs: 500,
    deadRetryMaxMs: 4_000,
    reapAfterMs: 120_000,
    awarenessMax: 4,
    maxMembers: LIMITS.maxMembers - 1,
    maxBroadcasts: LIMITS.maxMembers,
    maxRelays: 256,
    maxPeers: 32,
  },
};

/** The smallest active view: two ring successors and one random peer (active-view.ts). */
export const MIN_PEERS = 3;

const positiveMs = z.number().int('must be whole milliseconds').positive('must be positive');
const count = (min: number, max: number) =>
  z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const optionsSchema = z
  .strictObject({
    tickMs: positiveMs,
    probeIntervalMs: positiveMs,
    probeTimeoutMs: positiveMs,
    indirectChecks: count(0, 16),
    suspicionMult: count(1, 100),
    suspicionMaxTimeoutMult: count(1, 100),
    retransmitMult: count(1, 100),
    gossipIntervalMs: positiveMs,
    gossipNodes: count(0, 64),
    pushPullIntervalMs: positiveMs,
    joinFanout: count(0, 64),
    leaveFanout: count(0, 64),
    deadRetryBaseMs: positiveMs,
    deadRetryMaxMs: positiveMs,
    reapAfterMs: positiveMs,
    awarenessMax: count(1, 64),
    maxMembers: count(1, LIMITS.maxMembers - 1),
    maxBroadcasts: count(1, 1_000_000),
    maxRelays: count(0, 100_000),
    maxPeers: z.number({ error: 'must be a whole number' }).int('must be a whole number')
      .min(MIN_PEERS, `must be at least ${MIN_PEERS} (two ring successors and one random peer)`).max(LIMITS.maxMembers - 1, `must be at most ${LIMITS.maxMembers - 1} (the member table's size)`),
  })
  .superRefine((o, ctx) => {
    const rule = (ok: boolean, path: string, message: string) => {
      if (!ok) ctx.addIssue({ code: 'custom', path: [path], message });
    };
    rule(2 * o.probeTimeoutMs <= o.probeIntervalMs, 'probeTimeoutMs', 'must be at most half of probeIntervalMs (direct then indirect phase fit in one interval)');
    rule(4 * o.tickMs <= o.probeTimeoutMs, 'tickMs', 'must be at most a quarter of probeTimeoutMs (timing resolution)');
    rule(o.deadRetryBaseMs <= o.deadRetryMaxMs, 'deadRetryBaseMs', 'must not exceed deadRetryMaxMs');
    rule(o.reapAfterMs >= o.deadRetryMaxMs, 'reapAfterMs', 'must be at least deadRetryMaxMs (a dead member gets retried before it is forgotten)');
  });

/** Membership options: `membership.*` under the node. */
export const MEMBERSHIP_OPTIONS = defineOptions('membership', optionsSchema satisfies z.ZodType<MembershipOptions>, profiles);

/** The named profiles (validated, frozen). */
export const MEMBERSHIP_PROFILES: Profiles<MembershipOptions> = MEMBERSHIP_OPTIONS.profiles;

/** ceil(log10(N+1)): the log-N scale memberlist applies to retransmits and suspicion. */
export function logScale(n: number): number {
  return Math.max(1, Math.ceil(Math.log10(Math.max(1, n) + 1)));
}

/** The push-pull interval for a cluster of `n` nodes (memberlist's pushPullScale). */
export function pushPullIntervalFor(options: MembershipOptions, n: number): number {
  const threshold = 32;
  if (n <= threshold) return options.pushPullIntervalMs;
  return (Math.ceil(Math.log2(n) - Math.log2(threshold)) + 1) * options.pushPullIntervalMs;
}
