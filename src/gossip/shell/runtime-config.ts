/**
 * The gossip shell's options: the runtime loop (`runtime.*` under the node),
 * the HTTP transport (`transport.*`) and the body fetcher (`bodyFetcher.*`),
 * each declared once for the options module (src/options.ts) with its
 * profiles and rules. This file holds only the declarations (no I/O), so the
 * node's config can be built without loading the transport.
 *
 * localTest differs from production only where a cluster on one machine
 * needs it to (today nowhere: custody's sweep moved to placement.*); the bounds on memory, sockets and
 * waiting stay as they ship, so tests exercise what runs in production.
 */
import { z } from 'zod';
import { defineOptions, integerIn } from '../../options.js';

export interface RuntimeOptions {
  /**
   * The peer list is written to the data dir this often (and on a graceful
   * stop), so a restarted node knows whom to ask even without the Point.
   * Shorter loses fewer recently met peers to a crash, at one small fsynced
   * write each time (~110 bytes a peer).
   */
  readonly persistEveryMs: number;
  /**
   * Malformed messages from one address before it is reported to the Point,
   * which bans it once its ban quorum of nodes agree. 1 reports a single
   * corrupted message; higher lets a misbehaving peer send more first.
   */
  readonly reportAfterBadMessages: number;
  /**
   * Addresses whose malformed messages are counted; past it the counts start
   * over. Bounds memory under a flood from many addresses, at the price of
   * forgetting slow offenders.
   */
  readonly badMessageAddresses: number;
  /**
   * A read of a version whose body has not arrived waits this long for a
   * peer to deliver it, then answers 503. Longer serves more reads over slow
   * links; shorter frees the client (and a socket) sooner.
   */
  readonly readThroughTimeoutMs: number;
  /**
   * Peers asked, in parallel, about a key this node never heard of before it
   * answers 404. With the key on r of N nodes, all miss with probability
   * ≈ (1 − r/N)^lookupFanout; each miss costs lookupFanout requests.
   */
  readonly lookupFanout: number;
  /** How long such a lookup waits for the peers' answers: the added latency of a 404. */
  readonly lookupTimeoutMs: number;
  /**
   * On a graceful leave, queued messages (the `leave` itself first) get this
   * long to go out before the transport closes. Longer tells more peers
   * directly instead of by gossip; it adds to the shutdown time.
   */
  readonly leaveFlushMs: number;
}

export interface HttpTransportOptions {
  /**
   * Connect + headers + body of one message. Should exceed a loaded peer's
   * round trip: shorter counts slow peers as failures; longer holds a slot
   * of concurrencyPerPeer on a dead peer that long.
   */
  readonly messageTimeoutMs: number;
  /** Messages in flight to one peer. More overlaps latency; each holds a connection of connectionsPerPeer. */
  readonly concurrencyPerPeer: number;
  /**
   * Messages waiting for one peer; past it new ones are dropped (gossip
   * tolerates loss, anti-entropy repairs it). Worst-case memory per peer is
   * backlog × message size (≤ LIMITS.maxMessageBytes).
   */
  readonly backlogPerPeer: number;
  /**
   * Keep-alive connections to one peer (one undici pool), shared by messages
   * and body fetches, so above concurrencyPerPeer. Each costs a socket on
   * both ends.
   */
  readonly connectionsPerPeer: number;
  /**
   * Idle keep-alive connections are closed after this. Below the peers'
   * server keep-alive (server.keepAliveTimeoutMs, 65 s) so this side closes
   * first and never sends on a socket the server is closing.
   */
  readonly keepAliveTimeoutMs: number;
}

export interface BodyFetcherOptions {
  /** Bodies downloading at once, node-wide. More takes more bandwidth and disk at once; fewer replicates many small bodies slower. */
  readonly concurrency: number;
  /**
   * Bodies waiting; more are refused until the queue drains (the missing-body
   * sweep and read-through ask again). Bounds memory under a burst of writes.
   */
  readonly maxQueued: number;
  /**
   * An attempt whose headers, or next chunk, do not come within this is
   * abandoned and the next holder tried. Not a transfer deadline: a large
   * body on a slow link is fine while bytes keep coming.
   */
  readonly stallTimeoutMs: number;
  /**
   * A body no holder could give is tried again after retryDelayMs · 2^round,
   * for maxRounds rounds in all: 2 + 4 + 8 + 16 = 30 s of retries by
   * default, after which custody's sweep (placement.sweepIntervalMs) asks again.
   */
  readonly maxRounds: number;
  /** The first retry's delay; shorter recovers sooner from a holder's brief absence, at more attempts while it lasts. */
  readonly retryDelayMs: number;
  /** Live peers tried, after the known holders and the origin, when none of those could give the body. */
  readonly fallbackPeers: number;
}

const runtimeSchema = z.strictObject({
  persistEveryMs: integerIn(100, 86_400_000),
  reportAfterBadMessages: integerIn(1, 1_000),
  badMessageAddresses: integerIn(1, 10_000_000),
  readThroughTimeoutMs: integerIn(1, 600_000),
  lookupFanout: integerIn(0, 64),
  lookupTimeoutMs: integerIn(1, 60_000),
  leaveFlushMs: integerIn(0, 60_000),
});

const runtimeProduction: RuntimeOptions = {
  persistEveryMs: 30_000,
  reportAfterBadMessages: 3,
  badMessageAddresses: 10_000,
  readThroughTimeoutMs: 30_000,
  lookupFanout: 6,
  lookupTimeoutMs: 1_500,
  leaveFlushMs: 1_500,
};

/** Gossip runtime options: `runtime.*` under the node. Its tick is membership.tickMs. */
export const RUNTIME_OPTIONS = defineOptions('runtime', runtimeSchema satisfies z.ZodType<RuntimeOptions>, {
  production: runtimeProduction,
  localTest: runtimeProduction,
});

const transportSchema = z.strictObject({
  messageTimeoutMs: integerIn(100, 600_000),
  concurrencyPerPeer: integerIn(1, 256),
  backlogPerPeer: integerIn(1, 1_000_000),
  connectionsPerPeer: integerIn(1, 1_024),
  keepAliveTimeoutMs: integerIn(1, 600_000),
});

const transportProduction: HttpTransportOptions = {
  messageTimeoutMs: 2_000,
  concurrencyPerPeer: 4,
  backlogPerPeer: 256,
  connectionsPerPeer: 8,
  keepAliveTimeoutMs: 30_000,
};

/** HTTP transport options: `transport.*` under the node. */
export const TRANSPORT_OPTIONS = defineOptions('transport', transportSchema satisfies z.ZodType<HttpTransportOptions>, {
  production: transportProduction,
  localTest: transportProduction,
});

const bodyFetcherSchema = z.strictObject({
  concurrency: integerIn(1, 256),
  maxQueued: integerIn(1, 10_000_000),
  stallTimeoutMs: integerIn(100, 600_000),
  maxRounds: integerIn(1, 32),
  retryDelayMs: integerIn(1, 3_600_000),
  fallbackPeers: integerIn(0, 64),
});

const bodyFetcherProduction: BodyFetcherOptions = {
  concurrency: 4,
  maxQueued: 10_000,
  stallTimeoutMs: 10_000,
  maxRounds: 5,
  retryDelayMs: 2_000,
  fallbackPeers: 3,
};

/** Body fetcher options: `bodyFetcher.*` under the node. */
export const BODY_FETCHER_OPTIONS = defineOptions('bodyFetcher', bodyFetcherSchema satisfies z.ZodType<BodyFetcherOptions>, {
  production: bodyFetcherProduction,
  localTest: bodyFetcherProduction,
});
