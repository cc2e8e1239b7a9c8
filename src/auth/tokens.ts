/**
 * The cluster's admin key and what it signs (issue 13): client tokens and
 * revocations, compact JWS (jose, alg EdDSA, Ed25519). The private key stays
 * with the operator (`gossip-cdn auth init`); nodes hold only the public key
 * (--auth-public-key), as base64url of its 32 raw bytes, the form SPEC §3.2
 * uses for node keys.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
export { parsePublicKey } from './public-key.js';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import {
  REVOCATION_TYP, revocationClaimsSchema, TOKEN_TYP, tokenClaimsSchema, type RevocationClaims, type Scope, type TokenClaims,
} from './claims.js';

export const ADMIN_KEY_FILE = 'admin-key.pem';
export const ADMIN_PUBLIC_KEY_FILE = 'admin-key.pub';
/** Longest token or revocation a node reads; longer is refused before parsing. */
export const MAX_TOKEN_CHARS = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** base64url of the 32 raw bytes of an Ed25519 public (or private) key's public half. */
export function publicKeyText(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const { x } = pub.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new Error('not an Ed25519 key');
  return x;
}

/**
 * Creates the admin key pair in `dir`: the private key (PKCS8 PEM, mode
 * 0600, never overwritten) and the public key beside it. Returns the paths
 * and the public key text.
 */
export async function initAdminKey(dir: string): Promise<{ keyFile: string; publicKeyFile: string; publicKey: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyFile = join(dir, ADMIN_KEY_FILE);
  const publicKeyFile = join(dir, ADMIN_PUBLIC_KEY_FILE);
  let fh;
  try {
    fh = await open(keyFile, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${keyFile} already exists; it is not overwritten (remove it first to make a new admin key)`);
    throw err;
  }
  try {
    await fh.writeFile(privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await fh.sync();
  } finally {
    await fh.close();
  }
  const text = publicKeyText(publicKey);
  const pub = await open(publicKeyFile, 'w', 0o644);
  try {
    await pub.writeFile(`${text}\n`);
  } finally {
    await pub.close();
  }
  return { keyFile, publicKeyFile, publicKey: text };
}

/** Reads an admin private key file (PKCS8 PEM, Ed25519). */
export async function readAdminKey(file: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the admin key ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error(`${file} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 key`);
  return key;
}

/** A fresh token id: 16 random bytes (128 bits), base64url. */
export function newTokenId(): string {
  return randomBytes(16).toString('base64url');
}

export interface TokenRequest {
  scope: Scope;
  ttlSeconds: number;
  blob?: string | undefined;
  /** seconds since the epoch; the current time when absent */
  nowSec?: number | undefined;
}

/** A client token signed by the admin key. */
export async function mintToken(adminKey: KeyObject, request: TokenRequest): Promise<{ token: string; claims: TokenClaims }> {
  const iat = request.nowSec ?? Math.floor(Date.now() / 1000);
  const claims: TokenClaims = { jti: newTokenId(), scope: request.scope, iat, exp: iat + request.ttlSeconds, ...(request.blob === undefined ? {} : { blob: request.blob }) };
  const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', typ: TOKEN_TYP }).sign(adminKey);
  return { token, claims };
}

/** What checking a token found. Nothing more specific reaches the client (401 or 403). */
export type TokenCheck =
  | { readonly kind: 'valid'; readonly claims: TokenClaims }
  | { readonly kind: 'expired' }
  | { readonly kind: 'invalid' };

/** Checks signature, alg, typ, the claims' shape and exp against `publicKey`. Never throws. */
export async function verifyToken(token: string, publicKey: KeyObject, nowSec?: number): Promise<TokenCheck> {
  if (token.length > MAX_TOKEN_CHARS || !COMPACT_JWS.test(token)) return { kind: 'invalid' };
  try {
    const { payload } = await jwtVerify(token, publicKey, {
      algorithms: ['EdDSA'], typ: TOKEN_TYP, requiredClaims: ['jti', 'exp', 'iat'], ...(nowSec === undefined ? {} : { currentDate: new Date(nowSec * 1000) }),
    });
    const claims = tokenClaimsSchema.safeParse(payload);
    return claims.success ? { kind: 'valid', claims: claims.data } : { kind: 'invalid' };
  } catch (err) {
    // signed by the key but past its exp: forbidden, not unauthorized
    return err instanceof joseErrors.JWTExpired ? { kind: 'expired' } : { kind: 'invalid' };
  }
}

/**
 * A revocation of `token`, signed by the admin key: names the token's id and
 * carries its exp, so nodes can forget the revocation once the token would
 * have expired anyway. The token must be one this admin key signed.
 */
export async function mintRevocation(adminKey: KeyObject, token: string): Promise<{ revocation: string; claims: RevocationClaims }> {
  const check = await verifyToken(token.trim(), createPublicKey(adminKey));
  if (check.kind === 'expired') throw new Error('the token has already expired; there is nothing to revoke');
  if (check.kind !== 'valid') throw new Error('the token is not one this admin key signed');
  const claims: RevocationClaims = { revokes: check.claims.jti, iat: Math.floor(Date.now() / 1000), exp: check.claims.exp };
  const revocation = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', typ: REVOCATION_TYP }).sign(adminKey);
  return { revocation, claims };
}

/**
 * The claims of a revocation signed by `publicKey`, or undefined (bad
 * signature, other key, not a revocation, malformed, or past its exp).
 */
export async function verifyRevocation(revocation: string, publicKey: KeyObject, nowSec?: number): Promise<RevocationClaims | undefined> {
  if (revocation.length > MAX_TOKEN_CHARS || !COMPACT_JWS.test(revocation)) return undefined;
  try {
    const { payload } = await jwtVerify(revocation, publicKey, {
      algorithms: ['EdDSA'], typ: REVOCATION_TYP, requiredClaims: ['exp'], ...(nowSec === undefined ? {} : { currentDate: new Date(nowSec * 1000) }),
    });
    const claims = revocationClaimsSchema.safeParse(payload);
    return claims.success ? claims.data : undefined;
  } catch {
    return undefined;
  }
}
