/**
 * The pure rules of client tokens (src/auth/claims.ts, guard.ts blobNeed,
 * public-key.ts): the scope table, blob binding, expiry and revocation, what
 * each request needs, token lifetimes, the loopback rule; and the token and
 * revocation JWS kinds that cannot stand in for each other (tokens.ts).
 */
import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { permits, scopeAllows, SCOPES, tokenClaimsSchema, ttlSchema, type TokenClaims } from '../../../src/auth/claims.js';
import { blobNeed } from '../../../src/auth/guard.js';
import { isLoopbackHost, parsePublicKey } from '../../../src/auth/public-key.js';
import { mintRevocation, mintToken, publicKeyText, verifyRevocation, verifyToken } from '../../../src/auth/tokens.js';

const GUID = '6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';
const OTHER = '0b8f6d3c-1a2e-4f5d-8c9b-7e6a5d4c3b2a';
const NOW = 1_800_000_000;
const claims = (over: Partial<TokenClaims> = {}): TokenClaims => ({ jti: 'A'.repeat(22), scope: 'admin', iat: NOW - 10, exp: NOW + 10, ...over });
const none = (): boolean => false;

describe('scopes', () => {
  it('admin allows every action; the others only their own', () => {
    const table = SCOPES.map((s) => [s, (['read', 'write', 'delete'] as const).map((a) => scopeAllows(s, a))]);
    expect(Object.fromEntries(table)).toEqual({
      read: [true, false, false], write: [false, true, false], delete: [false, false, true], admin: [true, true, true],
    });
  });

  it('a bound token works on its blob only, never for a POST or the listing; expiry and revocation refuse', () => {
    const bound = claims({ scope: 'write', blob: GUID });
    expect(permits(bound, { action: 'write', blob: GUID }, NOW, none)).toBe(true);
    expect(permits(bound, { action: 'write', blob: OTHER }, NOW, none)).toBe(false);
    expect(permits(bound, { action: 'write', blob: undefined }, NOW, none)).toBe(false);
    expect(permits(claims(), { action: 'write', blob: undefined }, NOW, none)).toBe(true);
    expect(permits(claims(), { action: 'delete', blob: GUID }, NOW + 10, none)).toBe(false);
    expect(permits(claims(), { action: 'delete', blob: GUID }, NOW + 9, none)).toBe(true);
    expect(permits(claims(), { action: 'read', blob: GUID }, NOW, (id) => id === 'A'.repeat(22))).toBe(false);
  });

  it('claims need a 128-bit id, a known scope, iat and exp', () => {
    expect(tokenClaimsSchema.safeParse(claims()).success).toBe(true);
    expect(tokenClaimsSchema.safeParse(claims({ jti: 'short' })).success).toBe(false);
    expect(tokenClaimsSchema.safeParse({ ...claims(), scope: 'root' }).success).toBe(false);
    expect(tokenClaimsSchema.safeParse({ ...claims(), exp: undefined }).success).toBe(false);
    expect(tokenClaimsSchema.safeParse(claims({ blob: 'not-a-guid' })).success).toBe(false);
  });
});

describe('what a request needs', () => {
  it('writes and deletes always; reads only with private reads; ?token= only on one blob', () => {
    expect(blobNeed('GET', `/${GUID}`, false)).toBeUndefined();
    expect(blobNeed('GET', `/${GUID}`, true)).toEqual({ need: { action: 'read', blob: GUID }, query: true });
    expect(blobNeed('HEAD', `/${GUID}/versions`, true)).toEqual({ need: { action: 'read', blob: GUID }, query: false });
    expect(blobNeed('GET', '/', true)).toEqual({ need: { action: 'read', blob: undefined }, query: false });
    expect(blobNeed('PUT', `/${GUID.toUpperCase()}`, false)).toEqual({ need: { action: 'write', blob: GUID }, query: false });
    expect(blobNeed('POST', '/', false)).toEqual({ need: { action: 'write', blob: undefined }, query: false });
    expect(blobNeed('DELETE', `/${GUID}`, false)).toEqual({ need: { action: 'delete', blob: GUID }, query: false });
    expect(blobNeed('PATCH', `/${GUID}`, true)).toBeUndefined();
  });
});

describe('lifetimes and addresses', () => {
  it('a ttl is digits and one unit, positive, at most 10 years', () => {
    expect(ttlSchema.parse('30d')).toBe(30 * 86_400);
    expect(ttlSchema.parse('1h')).toBe(3600);
    expect(ttlSchema.parse('45s')).toBe(45);
    expect(ttlSchema.parse('2w')).toBe(14 * 86_400);
    for (const bad of ['0d', '1.5h', '10 days', 'd', '-1h', '1y', '99999w', '']) expect(ttlSchema.safeParse(bad).success, bad).toBe(false);
  });

  it('loopback is 127.0.0.0/8, ::1 and localhost', () => {
    for (const h of ['127.0.0.1', '127.0.0.42', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('a public key is base64url of 32 raw Ed25519 bytes', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const text = publicKeyText(publicKey);
    expect(parsePublicKey(text)?.asymmetricKeyType).toBe('ed25519');
    for (const bad of ['', 'x', `${text}A`, text.slice(1), '+'.repeat(43)]) expect(parsePublicKey(bad), bad).toBeUndefined();
  });
});

describe('token and revocation JWS', () => {
  it('a token verifies as a token, never as a revocation, and the other way round', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pub = createPublicKey(privateKey);
    const { token, claims: c } = await mintToken(privateKey, { scope: 'write', ttlSeconds: 60 });
    expect(await verifyToken(token, pub)).toEqual({ kind: 'valid', claims: c });
    expect(await verifyRevocation(token, pub)).toBeUndefined();
    const { revocation } = await mintRevocation(privateKey, token);
    expect(await verifyRevocation(revocation, pub)).toMatchObject({ revokes: c.jti, exp: c.exp });
    expect((await verifyToken(revocation, pub)).kind).toBe('invalid');
    expect((await verifyToken(token, pub, c.exp + 1)).kind).toBe('expired');
    const other = createPublicKey(generateKeyPairSync('ed25519').privateKey);
    expect((await verifyToken(token, other)).kind).toBe('invalid');
    expect(await verifyRevocation(revocation, other)).toBeUndefined();
  });
});
