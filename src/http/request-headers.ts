/**
 * Reading the request headers of the blob API, each into a checked value or
 * a CdnError naming the header. Vector clocks go through the consensus
 * layer's RFC 8941 parser; ETag lists follow RFC 9110 §8.8.3.
 */
import type { IncomingMessage } from 'node:http';
import { validate as isUuid } from 'uuid';
import { parseDictionary } from 'structured-headers';
import { CdnError } from '../errors.js';
import type { VectorClock } from '../consensus/types.js';
import { parseVectorClockHeader, VectorClockError } from '../consensus/vector-clock.js';

/** Canonical (lower-case) GUID, or CDN_ERR_BAD_GUID. */
export function parseGuid(text: string): string {
  if (text.length !== 36 || !isUuid(text)) throw new CdnError('CDN_ERR_BAD_GUID', `"${text.slice(0, 64)}" is not a GUID`);
  return text.toLowerCase();
}

function single(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  if (Array.isArray(value)) throw new CdnError('CDN_ERR_BAD_HEADER', `${name} must be sent once`);
  return value;
}

export function parseVectorClock(req: IncomingMessage): VectorClock | undefined {
  const text = single(req, 'vector-clock');
  if (text === undefined) return undefined;
  try {
    return parseVectorClockHeader(text);
  } catch (err) {
    if (err instanceof VectorClockError) throw new CdnError('CDN_ERR_BAD_VECTOR_CLOCK', `Vector-Clock: ${err.message}`);
    throw err;
  }
}

/** An entity tag as RFC 9110 writes it: optional W/ prefix, then a quoted opaque string. */
export interface EntityTag {
  weak: boolean;
  opaque: string;
}

const ETAG = /^\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*$/;

/** `*` or a comma-separated list of entity tags; CDN_ERR_BAD_HEADER when malformed. */
export function parseEtagList(req: IncomingMessage, name: 'if-match' | 'if-none-match' | 'if-range'): '*' | EntityTag[] | undefined {
  const raw = req.headers[name];
  if (raw === undefined) return undefined;
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  if (text.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  for (const part of text.split(',')) {
    if (part.trim() === '' ) continue;
    const m = ETAG.exec(part);
    if (m === null) throw new CdnError('CDN_ERR_BAD_HEADER', `${name}: "${part.trim().slice(0, 80)}" is not an entity tag`);
    tags.push({ weak: m[1] !== undefined, opaque: m[2] ?? '' });
  }
  if (tags.length === 0) throw new CdnError('CDN_ERR_BAD_HEADER', `${name} is empty`);
  if (tags.length > 64) throw new CdnError('CDN_ERR_BAD_HEADER', `${name} lists more than 64 entity tags`);
  return tags;
}

/** Strong comparison (If-Match, If-Range): both strong and equal. */
export function strongMatch(tags: '*' | EntityTag[], etag: string): boolean {
  return tags === '*' || tags.some((t) => !t.weak && t.opaque === etag);
}

/** Weak comparison (If-None-Match): opaque strings equal. */
export function weakMatch(tags: '*' | EntityTag[], etag: string): boolean {
  return tags === '*' || tags.some((t) => t.opaque === etag);
}

/** An HTTP date in seconds since the epoch; undefined when absent or invalid (RFC 9110 says ignore it). */
export function parseHttpDate(req: IncomingMessage, name: 'if-modified-since' | 'if-unmodified-since'): number | undefined {
  const text = single(req, name);
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

const TOKEN_TEXT = /^[\x20-\x7e]{1,255}$/;
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;.*)?$/;

export function parseContentType(req: IncomingMessage): string {
  const text = single(req, 'content-type');
  if (text === undefined || text === '') return 'application/octet-stream';
  if (!TOKEN_TEXT.test(text) || !MEDIA_TYPE.test(text)) throw new CdnError('CDN_ERR_BAD_HEADER', 'Content-Type is not a media type of at most 255 printable characters');
  return text;
}

export function parseCacheControl(req: IncomingMessage): string | undefined {
  const text = single(req, 'cache-control');
  if (text === undefined) return undefined;
  if (!TOKEN_TEXT.test(text)) throw new CdnError('CDN_ERR_BAD_HEADER', 'Cache-Control must be at most 255 printable characters');
  return text;
}

/** Declared body length; Node's parser has already rejected non-numeric values. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const text = req.headers['content-length'];
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new CdnError('CDN_ERR_BAD_HEADER', 'Content-Length is not a non-negative integer');
  return n;
}

/**
 * The client's own sha256 of the body, from `Content-Digest: sha-256=:<base64>:`
 * (RFC 9530) or `X-Content-SHA256: <hex>`; checked once the body is in.
 */
export function expectedSha256(req: IncomingMessage): string | undefined {
  const hex = single(req, 'x-content-sha256');
  if (hex !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new CdnError('CDN_ERR_BAD_HEADER', 'X-Content-SHA256 must be 64 hex digits');
    return hex.toLowerCase();
  }
  const digest = single(req, 'content-digest');
  if (digest === undefined) return undefined;
  let member: unknown;
  try {
    member = parseDictionary(digest).get('sha-256')?.[0];
  } catch {
    throw new CdnError('CDN_ERR_BAD_HEADER', 'Content-Digest is not an RFC 8941 dictionary');
  }
  if (!(member instanceof ArrayBuffer) || member.byteLength !== 32) {
    throw new CdnError('CDN_ERR_BAD_HEADER', 'Content-Digest must carry sha-256=:<base64 of 32 bytes>:');
  }
  return Buffer.from(member).toString('hex');
}
