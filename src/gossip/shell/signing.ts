/**
 * Signed node-to-node requests. Every /gossip request carries the sender's
 * id and public key, a timestamp, a nonce and an Ed25519 signature over
 * (method, path, timestamp, nonce, sha256 of the body). Ids are
 * self-certifying (id = n + sha256(public key)[0..16]), so a receiver checks
 * the signature without asking anyone; whether the sender may talk to it at
 * all (registered with the Point, not banned) is decided separately
 * (peer-auth.ts). No shared secret travels.
 */
import { createHash } from 'node:crypto';
import { CdnError } from '../../errors.js';
import { idMatchesKey } from '../../identity/node-id.js';
import { verifySignature, type NodeIdentity } from '../../identity/keystore.js';
import type { Clock } from '../core/types.js';

export const SIGNATURE_HEADERS = {
  node: 'x-gossip-node',
  key: 'x-gossip-key',
  timestamp: 'x-gossip-timestamp',
  nonce: 'x-gossip-nonce',
  signature: 'x-gossip-signature',
} as const;

/** How far a signed timestamp may be from the receiver's clock, unless the node says otherwise (--max-clock-skew). */
export const SIGNATURE_WINDOW_MS = 300_000;

/**
 * Every answer to a signed request carries the receiver's wall clock, so the
 * sender learns its offset from the peer even when the peer refused it as
 * stale (proposal 0011).
 */
export const TIME_HEADER = 'x-gossip-time';

function signedText(method: string, path: string, timestamp: string, nonce: string, bodyDigest: string): Buffer {
  return Buffer.from(`gossip-cdn-v1\n${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${bodyDigest}`, 'utf8');
}

export function bodyDigest(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The headers that sign one request. */
export function signRequest(identity: NodeIdentity, method: string, path: string, body: Buffer | string, now: number, nonce: string): Record<string, string> {
  const timestamp = String(now);
  return {
    [SIGNATURE_HEADERS.node]: identity.id,
    [SIGNATURE_HEADERS.key]: identity.publicKey,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: identity.sign(signedText(method, path, timestamp, nonce, bodyDigest(body))),
  };
}

export interface ReplayGuardOptions {
  /** how far a signed timestamp may be from this node's clock */
  readonly windowMs: number;
  /**
   * nonces held at most. A nonce is held for twice the window from its
   * arrival (a timestamp accepted at arrival stays acceptable at most that
   * long), so this bounds the signed requests accepted per 2 x window: 500k
   * over 10 minutes is ~830 a second, several times a busy node's inbound
   * gossip. Past it new requests are refused (GOSSIP_ERR_BUSY), never let in
   * by forgetting a nonce that could still be replayed.
   */
  readonly capacity: number;
}

export const REPLAY_GUARD_DEFAULTS: ReplayGuardOptions = { windowMs: SIGNATURE_WINDOW_MS, capacity: 500_000 };

/**
 * Remembers nonces for the signature window so a captured request cannot be
 * replayed: each for twice the window from its arrival, in arrival order, so
 * the expired ones are always at the front.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  readonly windowMs: number;
  private readonly capacity: number;

  constructor(private readonly clock: Clock, options: Partial<ReplayGuardOptions> = {}) {
    this.windowMs = options.windowMs ?? REPLAY_GUARD_DEFAULTS.windowMs;
    this.capacity = options.capacity ?? REPLAY_GUARD_DEFAULTS.capacity;
  }

  /**
   * true the first time a (node, nonce) is seen inside the window, false for a replay.
   * @throws GOSSIP_ERR_BUSY when the guard is full of nonces that are all still live
   */
  firstSighting(node: string, nonce: string): boolean {
    const id = `${node}:${nonce}`;
    if (this.seen.has(id)) return false;
    const now = this.clock.now();
    const horizon = now - 2 * this.windowMs;
    for (const [k, arrived] of this.seen) {
      // a clock stepped back leaves later arrivals with smaller times: they wait, which only keeps more
      if (arrived >= horizon) break;
      this.seen.delete(k);
    }
    if (this.seen.size >= this.capacity) throw new CdnError('GOSSIP_ERR_BUSY', 'too many signed requests inside the replay window; try again later');
    this.seen.set(id, now);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface VerifiedSender {
  id: string;
  publicKey: string;
}

type HeaderBag = Record<string, string | string[] | undefined>;

function one(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? undefined : v;
}

/**
 * Checks a request's signature; throws GOSSIP_ERR_* (401) naming what failed.
 * Does not decide whether the sender is welcome (see peer-auth.ts).
 */
export function verifyRequest(headers: HeaderBag, method: string, path: string, body: Buffer, clock: Clock, replay: ReplayGuard): VerifiedSender {
  const id = one(headers, SIGNATURE_HEADERS.node);
  const key = one(headers, SIGNATURE_HEADERS.key);
  const ts = one(headers, SIGNATURE_HEADERS.timestamp);
  const nonce = one(headers, SIGNATURE_HEADERS.nonce);
  const signature = one(headers, SIGNATURE_HEADERS.signature);
  if (id === undefined || key === undefined || ts === undefined || nonce === undefined || signature === undefined) {
    throw new CdnError('GOSSIP_ERR_UNSIGNED', 'node-to-node requests must carry x-gossip-node, -key, -timestamp, -nonce and -signature');
  }
  if (!idMatchesKey(id, key)) throw new CdnError('GOSSIP_ERR_BAD_SIGNATURE', 'the node id does not belong to the public key');
  if (!/^\d{1,16}$/.test(ts) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || signature.length > 128) {
    throw new CdnError('GOSSIP_ERR_BAD_SIGNATURE', 'malformed signature headers');
  }
  const timestamp = Number(ts);
  const offset = timestamp - clock.now();
  if (Math.abs(offset) > replay.windowMs) {
    throw new CdnError('GOSSIP_ERR_STALE', `signed timestamp is ${Math.round(offset / 1000)} s from this node's clock (limit ${replay.windowMs / 1000} s)`);
  }
  if (!verifySignature(key, signedText(method, path, ts, nonce, bodyDigest(body)), signature)) {
    throw new CdnError('GOSSIP_ERR_BAD_SIGNATURE', 'the signature does not verify');
  }
  if (!replay.firstSighting(id, nonce)) throw new CdnError('GOSSIP_ERR_REPLAY', 'this signed request was seen before');
  return { id, publicKey: key };
}
