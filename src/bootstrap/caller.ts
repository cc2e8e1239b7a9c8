/**
 * Who is calling: the address comes from the socket only (never from
 * X-Forwarded-For, which any client can write), normalised so one machine
 * always has one spelling: IPv4-mapped IPv6 (`::ffff:10.0.0.1`) becomes the
 * IPv4 address, IPv6 is lower-cased and compressed, zone ids are dropped.
 * Join tokens are HMACs of the public key under CLUSTER_SECRET, compared in
 * constant time, so the secret itself never travels.
 *
 * Possession of the key is proved by signing a challenge the Point issued:
 * the signed bytes are domain-tagged and bind the challenge, the public key
 * and the port, so a proof is good for one registration of one key at one
 * port, and for nothing else the key signs (gossip requests sign other bytes).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

const MAPPED_DOTTED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/;
const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** The canonical text of an address, or undefined when it is not one. */
export function normaliseIp(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const address = raw.split('%')[0]?.toLowerCase() ?? '';
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return undefined;
  const dotted = MAPPED_DOTTED.exec(address);
  if (dotted?.[1] !== undefined && isIPv4(dotted[1])) return dotted[1];
  // The WHATWG URL parser prints IPv6 in RFC 5952 canonical form.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const hex = MAPPED_HEX.exec(canonical);
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const high = parseInt(hex[1], 16);
    const low = parseInt(hex[2], 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return canonical;
}

/** The join token a node with `publicKey` presents when the Point has `secret`. */
export function joinTokenFor(secret: string, publicKey: string): string {
  return createHmac('sha256', secret).update(publicKey).digest('base64url');
}

/** Constant-time check of a presented join token (hashing first makes the lengths equal). */
export function joinTokenValid(secret: string, publicKey: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const want = createHash('sha256').update(joinTokenFor(secret, publicKey)).digest();
  const got = createHash('sha256').update(presented).digest();
  return timingSafeEqual(want, got);
}

/** The domain tag of a registration proof; a new format gets a new tag. */
export const REG_PROOF_TAG = 'gossip-cdn/reg/v1';

/** The bytes a node signs to register `publicKey` at `port` with `challenge`. */
export function regProofMessage(challenge: string, publicKey: string, port: number): Buffer {
  return Buffer.from(JSON.stringify([REG_PROOF_TAG, challenge, publicKey, port]), 'utf8');
}
