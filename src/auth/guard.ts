/**
 * Who may call the node's public blob API (issue 13), once the node has the
 * cluster's admin public key (--auth-public-key). PUT and POST need a write
 * token, DELETE a delete token; GET and HEAD of /blobs need a read token only
 * with --private-reads (a presigned URL, `?token=`, counts only on GET/HEAD of
 * the one blob it names). `admin` allows everything (claims.ts).
 *
 * Missing, malformed, oversized, badly signed or other-key tokens: 401
 * CDN_ERR_UNAUTHORIZED with `WWW-Authenticate: Bearer`; valid but wrong scope,
 * other blob, expired or revoked: 403 CDN_ERR_FORBIDDEN. Messages never say
 * more, and never echo the token. Verified tokens are cached (bounded, each
 * entry dropped at its exp), so the hot path does not verify a signature per
 * request.
 */
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import { CdnError } from '../errors.js';
import { permits, type Need, type TokenClaims } from './claims.js';
import { MAX_TOKEN_CHARS, verifyToken } from './tokens.js';
import type { RevocationStore } from './revocation-store.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;
const CACHED_TOKENS = 10_000;

export type Refusal = 'unauthorized' | 'forbidden';

/** The token id (jti) that authorised each request, for the version it writes. */
const tokenIds = new WeakMap<IncomingMessage, string>();

export function tokenIdOf(req: IncomingMessage): string | undefined {
  return tokenIds.get(req);
}

export class ClientAuth {
  private readonly verified = new LRUCache<string, TokenClaims>({ max: CACHED_TOKENS });
  /** spreads a revocation this node just accepted from a client (gossip); unset when running alone */
  spread: ((revocation: string) => void) | undefined;
  /** tokens checked by signature, and requests answered from the cache of verified tokens (for /metrics) */
  readonly checks = { verified: 0, cached: 0 };

  constructor(
    private readonly publicKey: KeyObject,
    readonly revocations: RevocationStore,
    /** GET and HEAD of /blobs need a read token too */
    readonly privateReads: boolean,
    /** a refusal, for metrics and the debug log (which redacts tokens: log.ts) */
    private readonly refused: (why: Refusal, req: IncomingMessage) => void,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * Throws 401 or 403 unless the request carries a token that allows `need`;
   * `query`: a `?token=` in the URL counts (GET/HEAD of one blob). Resolves
   * with the token's id, also kept for tokenIdOf(req).
   */
  async authorize(req: IncomingMessage, res: ServerResponse, need: Need, query: boolean): Promise<string> {
    const token = this.tokenOf(req, query);
    if (token === undefined) throw this.refuse(req, res, 'unauthorized');
    const nowSec = Math.floor(this.nowMs() / 1000);
    let claims = this.verified.get(token);
    if (claims !== undefined) this.checks.cached++;
    else {
      this.checks.verified++;
      const check = await verifyToken(token, this.publicKey, nowSec);
      if (check.kind === 'invalid') throw this.refuse(req, res, 'unauthorized');
      if (check.kind === 'expired') throw this.refuse(req, res, 'forbidden');
      claims = check.claims;
      const ttl = claims.exp * 1000 - this.nowMs();
      if (ttl > 0) this.verified.set(token, claims, { ttl });
    }
    if (!permits(claims, need, nowSec, (id) => this.revocations.isRevoked(id))) throw this.refuse(req, res, 'forbidden');
    tokenIds.set(req, claims.jti);
    return claims.jti;
  }

  /** The Bearer token, else (when allowed) the `token` query parameter; undefined when neither is usable. */
  private tokenOf(req: IncomingMessage, query: boolean): string | undefined {
    const header = req.headers.authorization;
    if (header !== undefined) {
      // oversized: refused unread
      if (header.length > MAX_TOKEN_CHARS + 7) return undefined;
      return BEARER.exec(header)?.[1];
    }
    if (!query) return undefined;
    const url = req.url ?? '';
    const at = url.indexOf('?');
    if (at < 0) return undefined;
    const given = new URLSearchParams(url.slice(at + 1)).getAll('token');
    const token = given.length === 1 ? given[0] : undefined;
    return token !== undefined && token.length <= MAX_TOKEN_CHARS ? token : undefined;
  }

  private refuse(req: IncomingMessage, res: ServerResponse, why: Refusal): CdnError {
    this.refused(why, req);
    if (why === 'unauthorized') {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return new CdnError('CDN_ERR_UNAUTHORIZED', 'a client token is required: send Authorization: Bearer TOKEN (missing, malformed or not signed by this cluster)');
    }
    return new CdnError('CDN_ERR_FORBIDDEN', 'the token does not allow this request');
  }
}

/** What `/blobs...` needs, from the method and the path below `/blobs`; undefined: nothing (public read, or a method the route refuses). */
export function blobNeed(method: string, subPath: string, privateReads: boolean): { need: Need; query: boolean } | undefined {
  const parts = subPath.split('/').filter((p) => p !== '');
  const blob = parts[0]?.toLowerCase();
  if (method === 'GET' || method === 'HEAD') {
    if (!privateReads) return undefined;
    return { need: { action: 'read', blob }, query: parts.length === 1 };
  }
  if (method === 'PUT' || method === 'POST') return { need: { action: 'write', blob }, query: false };
  if (method === 'DELETE') return { need: { action: 'delete', blob }, query: false };
  return undefined;
}
