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

/** How far a signed timestamp may be from the receiver's clock. */
export const SIGNATURE_WINDOW_MS = 30_000;

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

/**
 * Remembers nonces for the signature window so a captured request cannot be
 * replayed. Bounded: past `capacity` entries the oldest are dropped first, and
 * anything older than the window is refused on its timestamp anyway.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly clock: Clock, private readonly capacity = 200_000) {}

  /** true the first time a (node, nonce) is seen inside the window */
  firstSighting(node: string, nonce: string, timestamp: number): boolean {
    const id = `${node}:${nonce}`;
    if (this.seen.has(id)) return false;
    this.seen.set(id, timestamp);
    const horizon = this.clock.now() - 2 * SIGNATURE_WINDOW_MS;
    for (const [k, t] of this.seen) {
      if (this.seen.size <= this.capacity && t >= horizon) break;
      this.seen.delete(k);
    }
    return true;
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
  if (Math.abs(clock.now() - timestamp) > SIGNATURE_WINDOW_MS) {
    throw new CdnError('GOSSIP_ERR_STALE', `signed timestamp is more than ${SIGNATURE_WINDOW_MS / 1000} s from this node's clock`);
  }
  if (!verifySignature(key, signedText(method, path, ts, nonce, bodyDigest(body)), signature)) {
    throw new CdnError('GOSSIP_ERR_BAD_SIGNATURE', 'the signature does not verify');
  }
  if (!replay.firstSighting(id, nonce, timestamp)) throw new CdnError('GOSSIP_ERR_REPLAY', 'this signed request was seen before');
  return { id, publicKey: key };
}
