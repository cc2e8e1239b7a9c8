/**
 * Client tokens (issue 13): what a token claims and what it allows. Pure: no
 * I/O, no clock (the time is passed in), no crypto — the signature is checked
 * by tokens.ts before these claims are believed.
 *
 * Scopes: `admin` allows everything; `write` allows PUT and POST; `delete`
 * allows DELETE; `read` allows GET and HEAD of /blobs (needed only with
 * --private-reads). A token bound to a blob (`blob` claim) works only on that
 * GUID; a POST (the node picks the GUID) and the listing need an unbound token.
 */
import { z } from 'zod';

export const SCOPES = ['read', 'write', 'delete', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a request needs: the action, and the blob it acts on (undefined: no one blob — a POST or the listing). */
export interface Need {
  readonly action: 'read' | 'write' | 'delete';
  readonly blob: string | undefined;
}

/** A token's id (jti): base64url of at least 16 random bytes (≥ 128 bits). */
export const TOKEN_ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The claims of a client token, after its signature verified. Unknown claims are ignored (JWT practice). */
export const tokenClaimsSchema = z.object({
  jti: z.string().regex(TOKEN_ID_PATTERN),
  scope: z.enum(SCOPES),
  iat: z.number().int().min(0),
  exp: z.number().int().min(0),
  blob: z.string().regex(GUID).optional(),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;

/** The payload of a revocation: the token id it revokes, and the token's exp (the revocation is forgotten after it). */
export const revocationClaimsSchema = z.object({
  revokes: z.string().regex(TOKEN_ID_PATTERN),
  iat: z.number().int().min(0),
  exp: z.number().int().min(0),
});
export type RevocationClaims = z.infer<typeof revocationClaimsSchema>;

/** The JWS `typ` of each kind, so a token can never pass for a revocation or the other way round. */
export const TOKEN_TYP = 'cdn-token+jwt';
export const REVOCATION_TYP = 'cdn-revocation+jwt';

/** Whether `scope` covers `action` (the blob binding aside). */
export function scopeAllows(scope: Scope, action: Need['action']): boolean {
  return scope === 'admin' || scope === action;
}

/**
 * Whether verified `claims` allow `need` at `nowSec` (seconds since the
 * epoch), given the set of revoked token ids. Every refusal is the same
 * answer to the client (403): which rule failed is not told.
 */
export function permits(claims: TokenClaims, need: Need, nowSec: number, revoked: (jti: string) => boolean): boolean {
  if (claims.exp <= nowSec) return false;
  if (!scopeAllows(claims.scope, need.action)) return false;
  if (claims.blob !== undefined && claims.blob !== need.blob) return false;
  return !revoked(claims.jti);
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
const MAX_TTL_SECONDS = 10 * 366 * 86_400;
export const TTL_RULE = 'must be a duration such as 45s, 90m, 12h, 30d or 1w (at most 10 years)';

/** A token lifetime (--ttl): digits and one unit, in whole seconds, positive and at most 10 years. */
export const ttlSchema = z.string().regex(/^[1-9]\d{0,8}[smhdw]$/, TTL_RULE).transform((text, ctx) => {
  const seconds = Number(text.slice(0, -1)) * UNIT_SECONDS[text.slice(-1) as keyof typeof UNIT_SECONDS];
  if (seconds > MAX_TTL_SECONDS) {
    ctx.addIssue({ code: 'custom', message: TTL_RULE });
    return z.NEVER;
  }
  return seconds;
});
