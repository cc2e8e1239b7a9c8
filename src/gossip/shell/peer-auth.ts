/**
 * Who may talk to this node. A request's signature proves which id sent it
 * (signing.ts); this decides whether that id is welcome: registered with the
 * Point, not banned, and speaking from the address it registered. Answers are
 * cached for a while, checks are single-flight per id and bounded in number,
 * and while the Point is unreachable the peers already vouched for stay
 * welcome (SPEC §3.3: nodes keep gossiping with the peers they know).
 */
import { CdnError } from '../../errors.js';
import type { Clock, NodeId } from '../core/types.js';

export interface Vouch {
  ip: string;
  port: number;
  publicKey: string;
}

/** The Point as the gossip runtime sees it. */
export interface PeerRegistry {
  /** the Point's record of `id` if it is registered, live and not banned */
  vouch(id: NodeId): Promise<Vouch | 'unknown' | 'unreachable'>;
}

interface Entry {
  vouch: Vouch | undefined;
  checkedAt: number;
  /** the last positive answer, kept after a negative one (a peer that left and came back) */
  lastGood: Vouch | undefined;
}

export interface PeerAuthOptions {
  /** how long a positive answer is trusted before asking again */
  ttlMs: number;
  /** how long a refusal is remembered (bounds the load a stranger puts on the Point) */
  negativeTtlMs: number;
  /** most ids remembered */
  capacity: number;
}

export const PEER_AUTH_DEFAULTS: PeerAuthOptions = { ttlMs: 60_000, negativeTtlMs: 5_000, capacity: 10_000 };

export class PeerAuth {
  private readonly cache = new Map<NodeId, Entry>();
  private readonly inflight = new Map<NodeId, Promise<Vouch | 'unknown' | 'unreachable'>>();

  constructor(private readonly registry: PeerRegistry, private readonly clock: Clock, private readonly options: PeerAuthOptions = PEER_AUTH_DEFAULTS) {}

  /** Records a peer the Point itself handed out (look), so its first message needs no check. */
  trust(id: NodeId, vouch: Vouch): void {
    this.remember(id, vouch);
  }

  /** Forgets a peer entirely (reported for bad data): its next request needs a fresh vouch. */
  forget(id: NodeId): void {
    this.cache.delete(id);
  }

  /** Throws GOSSIP_ERR_UNKNOWN_PEER (401) or GOSSIP_ERR_BANNED_PEER (403) unless `id` at `ip` is welcome. */
  async admit(id: NodeId, publicKey: string, ip: string): Promise<Vouch> {
    const now = this.clock.now();
    const cached = this.cache.get(id);
    let vouch = cached?.vouch;
    const fresh = cached !== undefined && now - cached.checkedAt < (cached.vouch === undefined ? this.options.negativeTtlMs : this.options.ttlMs);
    if (!fresh) {
      const answer = await this.ask(id);
      if (answer === 'unknown') {
        this.remember(id, undefined);
        vouch = undefined;
      } else if (answer !== 'unreachable') {
        this.remember(id, answer);
        vouch = answer;
      } else {
        // The Point cannot be asked: a peer we knew stays welcome (SPEC §3.3), even one
        // it last said it did not know (it left, and came back while the Point was down).
        vouch ??= cached?.lastGood;
      }
    }
    if (vouch === undefined) throw new CdnError('GOSSIP_ERR_UNKNOWN_PEER', `${id} is not registered with the Point (or is banned)`);
    if (vouch.publicKey !== publicKey) throw new CdnError('GOSSIP_ERR_UNKNOWN_PEER', `${id} registered another public key`);
    if (vouch.ip !== ip) throw new CdnError('GOSSIP_ERR_BANNED_PEER', `${id} registered from ${vouch.ip}, not ${ip}`);
    return vouch;
  }

  private ask(id: NodeId): Promise<Vouch | 'unknown' | 'unreachable'> {
    let p = this.inflight.get(id);
    if (p === undefined) {
      p = this.registry.vouch(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  private remember(id: NodeId, vouch: Vouch | undefined): void {
    const lastGood = vouch ?? this.cache.get(id)?.lastGood;
    this.cache.delete(id);
    this.cache.set(id, { vouch, checkedAt: this.clock.now(), lastGood });
    if (this.cache.size > this.options.capacity) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}
