/**
 * Revocations of client tokens, spread by gossip (issue 13). The core only
 * moves opaque strings (admin-signed JWS, bounded in size and count by
 * messages.ts); the shell verifies each against the cluster's admin key and
 * keeps it durably before it is accepted here or relayed (`admit`).
 *
 * Two ways, like membership news and anti-entropy: a revocation new here is
 * pushed on the next ticks to `fanout` random peers, `rounds` times; and every
 * `syncEveryMs` one random peer is sent a page of every revocation held
 * (rotating through them), so a node that was down when one spread catches
 * up. Revocations travel in their own message type on their own endpoint
 * (POST /gossip/revocations), which a node from before them answers 404:
 * harmless, and never counted against the sender as a bad message.
 */
import { LIMITS, PROTOCOL_VERSION, type GossipMessage } from './messages.js';
import type { PeerSampler, ProtocolEnv } from './types.js';

/** What the shell does with revocations. */
export interface RevocationHooks {
  /** verifies and keeps durably; resolves with the ones new here (the rest: known, invalid, or no room) */
  admit(items: readonly string[]): Promise<readonly string[]>;
  /** every live revocation held here */
  known(): readonly string[];
}

export interface RevocationGossipOptions {
  /** peers each new revocation is pushed to per round */
  readonly fanout: number;
  /** rounds (ticks) a new revocation is pushed */
  readonly rounds: number;
  /** how often one random peer gets a page of every revocation held */
  readonly syncEveryMs: number;
}

/** Revocations waiting to be pushed at most (more: the oldest wait for the periodic sync). */
const MAX_QUEUED = 4 * LIMITS.maxRevocations;

export class RevocationGossip {
  /** revocation → rounds left to push it */
  private readonly queue = new Map<string, number>();
  private cursor = 0;
  private nextSyncAt: number | undefined;
  /** pushed and synced messages sent, revocations received (for tests and metrics) */
  readonly stats = { pushed: 0, synced: 0, received: 0 };

  constructor(
    private readonly env: ProtocolEnv,
    private readonly peers: PeerSampler,
    private readonly hooks: RevocationHooks | undefined,
    private readonly options: RevocationGossipOptions,
  ) {}

  /** A revocation this node accepted (from a client, already verified and kept): spread it. */
  add(item: string): void {
    if (this.hooks === undefined) return;
    this.queue.delete(item);
    this.queue.set(item, this.options.rounds);
    while (this.queue.size > MAX_QUEUED) {
      const oldest = this.queue.keys().next().value;
      if (oldest === undefined) break;
      this.queue.delete(oldest);
    }
  }

  tick(): void {
    if (this.hooks === undefined) return;
    if (this.queue.size > 0) this.push();
    const now = this.env.clock.now();
    if (this.nextSyncAt === undefined) this.nextSyncAt = now + this.options.syncEveryMs;
    if (now >= this.nextSyncAt) {
      this.nextSyncAt = now + this.options.syncEveryMs;
      this.sync();
    }
  }

  async handle(message: GossipMessage): Promise<void> {
    if (message.type !== 'revocations' || this.hooks === undefined) return;
    this.stats.received += message.items.length;
    for (const item of await this.hooks.admit(message.items)) this.add(item);
  }

  private push(): void {
    const items: string[] = [];
    for (const [item, left] of this.queue) {
      if (items.length >= LIMITS.maxRevocations) break;
      items.push(item);
      if (left <= 1) this.queue.delete(item);
      else this.queue.set(item, left - 1);
    }
    for (const peer of this.peers.sample(this.options.fanout)) {
      this.env.transport.send(peer, this.message(items));
      this.stats.pushed++;
    }
  }

  private sync(): void {
    const known = this.hooks?.known() ?? [];
    if (known.length === 0) return;
    const [peer] = this.peers.sample(1);
    if (peer === undefined) return;
    if (this.cursor >= known.length) this.cursor = 0;
    const page = known.slice(this.cursor, this.cursor + LIMITS.maxRevocations);
    this.cursor += page.length;
    this.env.transport.send(peer, this.message(page));
    this.stats.synced++;
  }

  private message(items: string[]): GossipMessage {
    // `updates: []`: no membership news rides on it (a node from before revocations would drop them with the message)
    return { v: PROTOCOL_VERSION, from: this.env.self.id, type: 'revocations', items, updates: [] };
  }
}
