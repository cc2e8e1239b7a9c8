/**
 * The cluster's admin public key as nodes take it (--auth-public-key):
 * base64url of its 32 raw Ed25519 bytes. Kept apart from tokens.ts so that
 * reading the node's options does not load jose.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

const RAW_KEY = /^[A-Za-z0-9_-]{43}$/;

/** The public key from its base64url text; undefined when it is not 32 raw Ed25519 bytes. */
export function parsePublicKey(text: string): KeyObject | undefined {
  if (!RAW_KEY.test(text) || Buffer.from(text, 'base64url').length !== 32) return undefined;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** Whether a listen host is loopback only: 127.0.0.0/8, ::1 or localhost (the anonymous-write rule). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped?.[1] !== undefined && mapped[1].startsWith('127.');
}
