/**
 * Origin-signed versions (issue 13): the canonical bytes an origin signs, the
 * sign/verify round trip, that altering any signed field breaks it, that a
 * key which is not the origin's is refused by the schema and by the check,
 * and the shell's verified-signature cache. Pure logic: no I/O.
 */
import { describe, expect, it } from 'vitest';
import { EMPTY_SHA256, VERSION_SIGNING_DOMAIN, originKeyMatches, versionSchema, versionSigningBytes, versionSigningText } from '../../../src/consensus/index.js';
import type { Version } from '../../../src/consensus/types.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { nodeIdFromPublicKey } from '../../../src/identity/node-id.js';
import { checkVersionSignature, signVersion } from '../../../src/identity/version-signature.js';
import { VersionVerifier } from '../../../src/gossip/shell/version-verifier.js';

const origin = generateIdentity();
const other = generateIdentity();
const KEY = '0b7c3c1e-8a2f-4d5e-9f10-2a3b4c5d6e7f';

function fields(over: Partial<Version> = {}): Version {
  return {
    key: KEY,
    clock: { [origin.id]: 3, [other.id]: 1 },
    timestamp: { wall: 1_700_000_000_000, logical: 2 },
    origin: origin.id,
    sha256: 'ab'.repeat(32),
    size: 12,
    contentType: 'text/plain',
    cacheControl: 'max-age=60',
    tombstone: false,
    tokenId: 'tok_123',
    ...over,
  };
}

/** Every signed field, each with a value different from fields()'s. */
const alterations: [string, Partial<Version>][] = [
  ['key', { key: '0b7c3c1e-8a2f-4d5e-9f10-2a3b4c5d6e70' }],
  ['a clock counter', { clock: { [origin.id]: 4, [other.id]: 1 } }],
  ['a clock entry added', { clock: { [origin.id]: 3, [other.id]: 1, n0000000000000001: 1 } }],
  ['a clock entry removed', { clock: { [origin.id]: 3 } }],
  ['timestamp.wall', { timestamp: { wall: 1_700_000_000_001, logical: 2 } }],
  ['timestamp.logical', { timestamp: { wall: 1_700_000_000_000, logical: 3 } }],
  ['sha256', { sha256: 'cd'.repeat(32) }],
  ['size', { size: 13 }],
  ['contentType', { contentType: 'text/html' }],
  ['cacheControl', { cacheControl: 'no-store' }],
  ['cacheControl removed', { cacheControl: undefined }],
  ['tombstone', { tombstone: true }],
  ['origin', { origin: other.id }],
  ['tokenId', { tokenId: 'tok_124' }],
  ['tokenId removed', { tokenId: undefined }],
];

describe('canonical signing bytes', () => {
  it('are a fixed-order JSON array starting with the domain tag', () => {
    const parsed = JSON.parse(versionSigningText(fields())) as unknown[];
    expect(parsed[0]).toBe(VERSION_SIGNING_DOMAIN);
    expect(parsed).toEqual([
      VERSION_SIGNING_DOMAIN, KEY, [[origin.id, 3], [other.id, 1]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      [1_700_000_000_000, 2], 'ab'.repeat(32), 12, 'text/plain', 'max-age=60', false, origin.id, 'tok_123',
    ]);
  });

  it('do not depend on the clock\'s key order, and treat a zero entry as absent', () => {
    const a = fields({ clock: { [origin.id]: 3, [other.id]: 1 } });
    const b = fields({ clock: { [other.id]: 1, [origin.id]: 3, n00000000000000ff: 0 } });
    expect(versionSigningBytes(a).equals(versionSigningBytes(b))).toBe(true);
  });

  it.each(alterations)('change when %s changes', (_what, change) => {
    expect(versionSigningText(fields(change))).not.toBe(versionSigningText(fields()));
  });

  it('absent cacheControl and tokenId are null, unlike any string', () => {
    const parsed = JSON.parse(versionSigningText(fields({ cacheControl: undefined, tokenId: undefined }))) as unknown[];
    expect([parsed[7], parsed[10]]).toEqual([null, null]);
    expect(versionSigningText(fields({ tokenId: 'null' }))).not.toBe(versionSigningText(fields({ tokenId: undefined })));
  });
});

describe('signing and verifying', () => {
  it('round-trips, through JSON and the schema as on the wire and the disk', () => {
    const signed = signVersion(origin, fields());
    expect(signed.originKey).toBe(origin.publicKey);
    expect(Buffer.from(signed.signature ?? '', 'base64url')).toHaveLength(64);
    expect(checkVersionSignature(signed)).toBeUndefined();
    const again = versionSchema.parse(JSON.parse(JSON.stringify(signed)));
    expect(again).toEqual(signed);
    expect(checkVersionSignature(again)).toBeUndefined();
  });

  it('signs a tombstone without a token', () => {
    const tomb = signVersion(origin, fields({ tombstone: true, size: 0, sha256: EMPTY_SHA256, cacheControl: undefined, tokenId: undefined }));
    expect(checkVersionSignature(versionSchema.parse(JSON.parse(JSON.stringify(tomb))))).toBeUndefined();
  });

  it.each(alterations)('is broken by altering %s', (_what, change) => {
    const signed = signVersion(origin, fields());
    const altered: Version = { ...signed, ...change };
    // the origin alteration is also a key mismatch; every other one is a bad signature
    expect(checkVersionSignature(altered)).toBe(change.origin === undefined ? 'bad_signature' : 'key_mismatch');
  });

  it('refuses to sign in another node\'s name', () => {
    expect(() => signVersion(origin, fields({ origin: other.id }))).toThrow(/only its own/);
  });

  it('an unsigned version, and one signed by another key, are refused', () => {
    expect(checkVersionSignature(fields())).toBe('unsigned');
    const byOther = signVersion(other, fields({ origin: other.id }));
    // the origin's key, with a signature made by another key
    expect(checkVersionSignature({ ...byOther, origin: origin.id, originKey: origin.publicKey })).toBe('bad_signature');
    // another key that does not derive the origin
    expect(checkVersionSignature({ ...byOther, origin: origin.id })).toBe('key_mismatch');
    // random bytes for a signature
    expect(checkVersionSignature({ ...signVersion(origin, fields()), signature: Buffer.alloc(64, 7).toString('base64url') })).toBe('bad_signature');
  });
});

describe('versionSchema and origin keys', () => {
  const signed = signVersion(origin, fields());
  const wire = JSON.parse(JSON.stringify(signed)) as Record<string, unknown>;

  it('the schema\'s key rule agrees with the node id rule', () => {
    for (const id of [origin, other, generateIdentity()]) {
      expect(originKeyMatches(nodeIdFromPublicKey(id.publicKey), id.publicKey)).toBe(true);
      expect(originKeyMatches(origin.id, id.publicKey)).toBe(id === origin);
    }
  });

  it('refuses an originKey that does not derive origin, with the key_mismatch refusal', () => {
    const r = versionSchema.safeParse({ ...wire, originKey: other.publicKey });
    expect(r.success).toBe(false);
    expect(r.error?.issues.some((i) => i.code === 'custom' && i.params?.refusal === 'key_mismatch')).toBe(true);
  });

  it.each([
    ['a key of 31 bytes', { originKey: Buffer.alloc(31, 1).toString('base64url') }],
    ['a key with padding', { originKey: `${origin.publicKey}=` }],
    ['a signature of 63 bytes', { signature: Buffer.alloc(63, 1).toString('base64url') }],
    ['a signature in base64 with +/', { signature: `${'+'.repeat(85)}A` }],
    ['a signature without its key', { originKey: undefined }],
    ['a key without its signature', { signature: undefined }],
    ['a token id of 65 characters', { tokenId: 'a'.repeat(65) }],
    ['an empty token id', { tokenId: '' }],
    ['a token id with a dot', { tokenId: 'a.b' }],
    ['a number for a token id', { tokenId: 5 }],
  ])('refuses %s', (_what, change) => {
    expect(versionSchema.safeParse({ ...wire, ...change }).success).toBe(false);
  });

  it('keeps accepting unsigned versions (old data, the simulator); the shell refuses them from peers', () => {
    const { originKey: _k, signature: _s, ...unsigned } = wire;
    const parsed = versionSchema.parse(unsigned);
    expect('signature' in parsed || 'originKey' in parsed).toBe(false);
  });
});

describe('VersionVerifier', () => {
  it('checks each signature once, and a cached verdict does not cover altered fields', () => {
    const verifier = new VersionVerifier(8);
    const signed = signVersion(origin, fields());
    expect(verifier.check(signed)).toBeUndefined();
    expect(verifier.check(signed)).toBeUndefined();
    expect(verifier.check({ ...signed })).toBeUndefined();
    expect(verifier.stats).toMatchObject({ verified: 1, cacheHits: 2 });
    // the same (valid, cached) signature on an altered version is checked again and fails
    expect(verifier.check({ ...signed, clock: { [origin.id]: 99 } })).toBe('bad_signature');
    expect(verifier.check({ ...signed, sha256: 'cd'.repeat(32) })).toBe('bad_signature');
    expect(verifier.stats.verified).toBe(3);
    expect(verifier.stats.refused).toEqual({ unsigned: 0, key_mismatch: 0, bad_signature: 2 });
  });

  it('is bounded: the oldest verdicts go', () => {
    const verifier = new VersionVerifier(4);
    const versions = Array.from({ length: 10 }, (_, i) => signVersion(origin, fields({ size: i })));
    for (const v of versions) expect(verifier.check(v)).toBeUndefined();
    expect(verifier.cached).toBe(4);
    expect(verifier.check(versions[9] as Version)).toBeUndefined();
    expect(verifier.stats.cacheHits).toBe(1);
    expect(verifier.check(versions[0] as Version)).toBeUndefined();
    expect(verifier.stats.verified).toBe(11);
  });

  it('filter keeps the good versions in order and names why each other one went', () => {
    const verifier = new VersionVerifier(8);
    const a = signVersion(origin, fields({ size: 1 }));
    const b = signVersion(origin, fields({ size: 2 }));
    const forged = { ...signVersion(other, fields({ origin: other.id })), origin: origin.id, originKey: origin.publicKey };
    const { kept, refused } = verifier.filter([a, fields(), forged, b]);
    expect(kept).toEqual([a, b]);
    expect(refused.map((r) => r.reason)).toEqual(['unsigned', 'bad_signature']);
    expect(verifier.stats.refused).toEqual({ unsigned: 1, key_mismatch: 0, bad_signature: 1 });
  });
});
