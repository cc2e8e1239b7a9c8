/**
 * The one error module. Every error a client or an operator can see has a
 * stable code, grouped by subsystem (CDN_ERR_* for a node's public API,
 * GOSSIP_ERR_* for node-to-node traffic, POINT_ERR_* for the Point,
 * CONFIG_ERR_* for options refused at start), an HTTP status, and a one-line
 * description that docs/errors.md repeats (a test keeps the two in step).
 * Callers match on `code`, never on messages.
 */

interface ErrorSpec {
  readonly status: number;
  readonly description: string;
}

export const ERROR_CODES = {
  // ---- node: public blob API -------------------------------------------
  CDN_ERR_BAD_GUID: { status: 400, description: 'The key in the path is not a GUID (RFC 9562 UUID text form).' },
  CDN_ERR_BAD_HEADER: { status: 400, description: 'A request header is malformed (If-Match, If-None-Match, Content-Length, Content-Type, Cache-Control...).' },
  CDN_ERR_BAD_RANGE: { status: 400, description: 'The Range header is not a valid bytes range.' },
  CDN_ERR_RANGE_NOT_SATISFIABLE: { status: 416, description: 'No requested range overlaps the body.' },
  CDN_ERR_BAD_VECTOR_CLOCK: { status: 400, description: 'The Vector-Clock header is not an RFC 8941 dictionary of node id to non-negative integer.' },
  CDN_ERR_BAD_QUERY: { status: 400, description: 'A query parameter is malformed or out of range.' },
  CDN_ERR_BAD_DIGEST: { status: 400, description: 'The body does not match the digest the client sent with it.' },
  CDN_ERR_NOT_FOUND: { status: 404, description: 'No live version of this key exists (never written, or deleted).' },
  CDN_ERR_ROUTE_NOT_FOUND: { status: 404, description: 'No such endpoint.' },
  CDN_ERR_METHOD_NOT_ALLOWED: { status: 405, description: 'The endpoint exists but does not take this method.' },
  CDN_ERR_UPLOAD_STALLED: { status: 408, description: 'The upload fell below the minimum transfer rate and was cut off; nothing was stored.' },
  CDN_ERR_CONFLICT: { status: 409, description: 'A concurrent conditional write to the same key won the race; retry with a fresh read.' },
  CDN_ERR_PRECONDITION_FAILED: { status: 412, description: 'An If-Match, If-None-Match or If-Unmodified-Since precondition does not hold.' },
  CDN_ERR_TOO_LARGE: { status: 413, description: 'The body is larger than the configured maximum blob size.' },
  CDN_ERR_UPLOAD_ABORTED: { status: 400, description: 'The client closed the connection before the whole body arrived; nothing was stored.' },
  CDN_ERR_STORAGE_IO: { status: 500, description: 'A disk read, write or fsync failed; the request was not acknowledged.' },
  CDN_ERR_INTERNAL: { status: 500, description: 'An unexpected error; the node logged it with the request id.' },
  CDN_ERR_NOT_READY: { status: 503, description: 'The node is starting or stopping and does not serve this request now.' },
  CDN_ERR_TOO_FEW_COPIES: { status: 503, description: 'The write needed more durable copies (--write-copies) than the owners confirmed in time; nothing was stored and the write is not visible.' },
  CDN_ERR_BODY_UNAVAILABLE: { status: 503, description: 'The version is known but no verified copy of its body can be had right now (for example, the local copy failed its checksum).' },
  CDN_ERR_RATE_LIMITED: { status: 429, description: 'This client address (an IPv6 /64) sent more requests than the node\'s per-address rate limit allows; retry after Retry-After seconds.' },
  CDN_ERR_STORAGE_QUOTA: { status: 507, description: 'The disk quota would be exceeded; nothing was stored.' },
  CDN_ERR_UNAUTHORIZED: { status: 401, description: 'The request needs a client token (Authorization: Bearer, or ?token= on a presigned GET) and none was sent, or it is malformed or not signed by this cluster\'s admin key.' },
  CDN_ERR_FORBIDDEN: { status: 403, description: 'The token is valid but does not allow this request: wrong scope, bound to another blob, expired or revoked.' },
  CDN_ERR_BAD_BODY: { status: 400, description: 'The request body does not match the endpoint\'s schema (POST /auth/revocations takes {"revocation": JWS}).' },
  CDN_ERR_REVOCATIONS_FULL: { status: 507, description: 'The node holds as many live revocations as it may (100000); the revocation was not stored. They are dropped as the tokens they name expire.' },

  // ---- node-to-node -------------------------------------------------------
  GOSSIP_ERR_BAD_MESSAGE: { status: 400, description: 'A gossip message is malformed, oversized or of an unsupported protocol version, or carries a version not signed by its origin where the whole request is refused (an originKey that does not derive the origin id; a staged write).' },
  GOSSIP_ERR_UNSIGNED: { status: 401, description: 'A node-to-node request carries no signature.' },
  GOSSIP_ERR_BAD_SIGNATURE: { status: 401, description: 'The signature does not verify against the sender\'s public key.' },
  GOSSIP_ERR_STALE: { status: 401, description: 'The signed timestamp is outside the accepted window.' },
  GOSSIP_ERR_REPLAY: { status: 401, description: 'This signed request was seen before.' },
  GOSSIP_ERR_BUSY: { status: 503, description: 'The receiver holds as many live nonces as it may; the request was not read. Try again later.' },
  GOSSIP_ERR_UNKNOWN_PEER: { status: 401, description: 'The sender is not registered with the Point.' },
  GOSSIP_ERR_BANNED_PEER: { status: 403, description: 'The sender\'s address is banned.' },
  GOSSIP_ERR_RATE_LIMITED: { status: 429, description: 'The sending node (or, before its signature is checked, its address) sent more node-to-node requests than the limit allows; retry after Retry-After seconds.' },

  // ---- the Point ------------------------------------------------------------
  POINT_ERR_BAD_REQUEST: { status: 400, description: 'The body or query does not match the call\'s schema.' },
  POINT_ERR_BAD_PUBLIC_KEY: { status: 400, description: 'The public key is not base64url of 32 raw Ed25519 bytes.' },
  POINT_ERR_ID_MISMATCH: { status: 400, description: 'The node id sent does not belong to the public key (id = n + first 16 hex of sha256 of the key).' },
  POINT_ERR_BODY_TOO_LARGE: { status: 413, description: 'The request body is larger than the Point accepts (16 KiB).' },
  POINT_ERR_UNAUTHORIZED: { status: 401, description: 'The session key is missing, unknown or expired.' },
  POINT_ERR_BAD_JOIN_TOKEN: { status: 401, description: 'CLUSTER_SECRET is set and the join token is missing or wrong.' },
  POINT_ERR_PROOF_REQUIRED: { status: 401, description: 'A registration must prove possession of the private key: get a challenge from POST /reg/challenge and send it with its signature.' },
  POINT_ERR_BAD_PROOF: { status: 401, description: 'The proof of key possession does not hold: bad signature, or a challenge that is unknown, expired, already used or issued for another key.' },
  POINT_ERR_BANNED: { status: 403, description: 'The caller\'s address is banned.' },
  POINT_ERR_NOT_FOUND: { status: 404, description: 'The target node is not registered, not live, or banned.' },
  POINT_ERR_ROUTE_NOT_FOUND: { status: 404, description: 'No such endpoint on the Point.' },
  POINT_ERR_METHOD_NOT_ALLOWED: { status: 405, description: 'The Point endpoint exists but does not take this method.' },
  POINT_ERR_ID_TAKEN: { status: 409, description: 'This node id is live from another address; it can register from a new one once its TTL lapses.' },
  POINT_ERR_RATE_LIMITED: { status: 429, description: 'This address sent more registration, challenge or report calls than the Point\'s per-address limit allows, or holds as many open challenges as it may; retry after Retry-After seconds.' },
  POINT_ERR_REDIS_UNAVAILABLE: { status: 503, description: 'The registry (Redis) cannot be reached; the Point recovers by itself when it returns.' },
  POINT_ERR_POSTGRES_UNAVAILABLE: { status: 503, description: 'The banlist (PostgreSQL) cannot be reached; the Point recovers by itself when it returns.' },
  POINT_ERR_INTERNAL: { status: 500, description: 'An unexpected error in the Point; it logged it with the request id.' },
  POINT_ERR_UNREACHABLE: { status: 502, description: 'Client side: the Point did not answer in time after the allowed retries.' },

  // ---- options (node, Point, every subsystem) -------------------------------
  CONFIG_ERR_INVALID: { status: 500, description: 'An option is unknown or breaks its rule; the message names it by its full path and gives the rule. Raised at start, before anything listens.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** Base class of every error the product reports to a client. */
export class CdnError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message ?? ERROR_CODES[code].description, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CdnError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options?.details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }
}

/**
 * An option that cannot be used: unknown, or breaking its rule. `option` is
 * its full path (`membership.probeTimeoutMs`, `quotaBytes`), `rule` what it
 * must be; the message is `option: rule`. The CLI maps `option` to the flag
 * the user typed.
 */
export class ConfigError extends CdnError {
  constructor(readonly option: string, readonly rule: string) {
    super('CONFIG_ERR_INVALID', `${option}: ${rule}`, { details: { option, rule } });
    this.name = 'ConfigError';
  }
}

export function isCdnError(err: unknown): err is CdnError {
  return err instanceof CdnError;
}

/** The JSON body for any thrown value: known errors keep their code, the rest become INTERNAL. */
export function errorBody(err: unknown, fallback: ErrorCode = 'CDN_ERR_INTERNAL'): { status: number; body: ErrorBody } {
  if (err instanceof CdnError) return { status: err.status, body: err.toBody() };
  const spec = ERROR_CODES[fallback];
  return { status: spec.status, body: { error: { code: fallback, message: spec.description } } };
}
