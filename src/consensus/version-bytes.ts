/**
 * What an origin signs for a version (issue 13, "Origin-signed versions"):
 * one deterministic byte string over everything that defines the version.
 * It is JSON.stringify of an array this module builds in a fixed order, so it
 * is deterministic by construction (no object key order, no floats: every
 * number is a safe integer). Receivers rebuild it from the fields they got;
 * any change to any field changes the bytes and breaks the signature.
 *
 * Also the one check the schema makes on an origin's key: that `origin` is
 * the id derived from it (SPEC §3.2: `n` + the first 16 hex digits of sha256
 * of the 32 raw key bytes; the same rule as src/identity/node-id.ts, kept here
 * because src/consensus imports nothing else of ours). Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import type { Version } from './types.js';

/** The domain tag, first in the signed array: a signature over a version is never valid for anything else. */
export const VERSION_SIGNING_DOMAIN = 'gossip-cdn/version/v1';

/** base64url of exactly 32 bytes (an Ed25519 public key). */
export const ORIGIN_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** base64url of exactly 64 bytes (an Ed25519 signature). */
export const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{86}$/;
/** a client token id: base64url-safe characters, at most 64. */
export const TOKEN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The fields that define a version; the signature and the key that checks it are not among them. */
export type SignedFields = Omit<Version, 'signature' | 'originKey'>;

/** The text signed for `v` (see versionSigningBytes). */
export function versionSigningText(v: SignedFields): string {
  // zero entries are the same as absent ones: leave them out, sorted by node id
  const clock = Object.entries(v.clock)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([
    VERSION_SIGNING_DOMAIN,
    v.key,
    clock,
    [v.timestamp.wall, v.timestamp.logical],
    v.sha256,
    v.size,
    v.contentType,
    v.cacheControl ?? null,
    v.tombstone,
    v.origin,
    v.tokenId ?? null,
  ]);
}

/** The bytes an origin signs for `v`. */
export function versionSigningBytes(v: SignedFields): Buffer {
  return Buffer.from(versionSigningText(v), 'utf8');
}

/** true when `originKey` is base64url of 32 bytes and `origin` is the id derived from it. */
export function originKeyMatches(origin: string, originKey: string): boolean {
  if (!ORIGIN_KEY_PATTERN.test(originKey)) return false;
  const raw = Buffer.from(originKey, 'base64url');
  if (raw.length !== 32 || raw.toString('base64url') !== originKey) return false;
  return origin === `n${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}

/**
 * A fresh, writable copy of a version's fields, in the canonical order, with
 * no property for an absent optional field (so two equal versions are equal
 * objects, whatever `undefined`s the input carried).
 */
export function versionFields(v: Version): { -readonly [K in keyof Version]: Version[K] } {
  const out: { -readonly [K in keyof Version]: Version[K] } = {
    key: v.key,
    clock: v.clock,
    timestamp: v.timestamp,
    origin: v.origin,
    sha256: v.sha256,
    size: v.size,
    contentType: v.contentType,
    tombstone: v.tombstone,
  };
  if (v.cacheControl !== undefined) out.cacheControl = v.cacheControl;
  if (v.tokenId !== undefined) out.tokenId = v.tokenId;
  if (v.originKey !== undefined) out.originKey = v.originKey;
  if (v.signature !== undefined) out.signature = v.signature;
  return out;
}
