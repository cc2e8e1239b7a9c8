/**
 * Node identity as SPEC §3.2 defines it: a node's public key is an Ed25519
 * key written as base64url of its 32 raw bytes (JWK `x`); its id is `n`
 * followed by the first 16 hex digits of sha256 of those 32 bytes, so anyone
 * can check that an id belongs to a key. Pure: no I/O.
 */
import { createHash } from 'node:crypto';

export const NODE_ID_PATTERN = /^n[0-9a-f]{16}$/;
const BASE64URL_32_BYTES = /^[A-Za-z0-9_-]{43}$/;

export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && NODE_ID_PATTERN.test(value);
}

/** Decodes a public key; undefined unless it is base64url of exactly 32 bytes. */
export function decodePublicKey(publicKey: string): Buffer | undefined {
  if (!BASE64URL_32_BYTES.test(publicKey)) return undefined;
  const raw = Buffer.from(publicKey, 'base64url');
  return raw.length === 32 && raw.toString('base64url') === publicKey ? raw : undefined;
}

export function isPublicKey(value: unknown): value is string {
  return typeof value === 'string' && decodePublicKey(value) !== undefined;
}

/** The id that belongs to a public key; throws on a malformed key. */
export function nodeIdFromPublicKey(publicKey: string): string {
  const raw = decodePublicKey(publicKey);
  if (raw === undefined) throw new TypeError('public key must be base64url of 32 raw Ed25519 bytes');
  return `n${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}

export function idMatchesKey(id: string, publicKey: string): boolean {
  return isPublicKey(publicKey) && nodeIdFromPublicKey(publicKey) === id;
}
