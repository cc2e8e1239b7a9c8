/**
 * Origin signatures on versions (issue 13): the origin node signs every
 * version it mints with its identity key, over versionSigningBytes
 * (src/consensus/version-bytes.ts); any node checks it with nothing but the
 * version itself, since `originKey` travels with it and `origin` must be the
 * id derived from that key.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Version } from '../consensus/types.js';
import { originKeyMatches, versionFields, versionSigningBytes, type SignedFields } from '../consensus/version-bytes.js';
import type { NodeIdentity } from './keystore.js';

/** Why a version is refused: no signature at all, a key that is not its origin's, or a signature that does not verify. */
export type VersionRefusal = 'unsigned' | 'key_mismatch' | 'bad_signature';
export const VERSION_REFUSALS: readonly VersionRefusal[] = ['unsigned', 'key_mismatch', 'bad_signature'];

/**
 * `fields` signed by `identity`, as a frozen Version carrying its origin key
 * and signature. Refuses to sign in another node's name.
 */
export function signVersion(identity: Pick<NodeIdentity, 'id' | 'publicKey' | 'sign'>, fields: SignedFields): Version {
  if (fields.origin !== identity.id) throw new Error(`a node signs only its own versions (origin ${fields.origin}, this node ${identity.id})`);
  // a signed copy is made from the fields alone: any signature the input carried is replaced
  const out = versionFields({ ...fields, originKey: undefined, signature: undefined });
  out.originKey = identity.publicKey;
  out.signature = identity.sign(versionSigningBytes(out));
  return Object.freeze(out);
}

/** The public key object for a base64url raw Ed25519 key (the caller checked its shape). */
export function ed25519PublicKey(originKey: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: originKey }, format: 'jwk' });
}

/**
 * Checks a version's origin signature; undefined when it holds. `keyOf`
 * turns the origin key into a key object (a cache may stand in for
 * ed25519PublicKey).
 */
export function checkVersionSignature(v: Version, keyOf: (originKey: string) => KeyObject = ed25519PublicKey): VersionRefusal | undefined {
  if (v.originKey === undefined || v.signature === undefined) return 'unsigned';
  if (!originKeyMatches(v.origin, v.originKey)) return 'key_mismatch';
  const signature = Buffer.from(v.signature, 'base64url');
  if (signature.length !== 64) return 'bad_signature';
  try {
    return verify(null, versionSigningBytes(v), keyOf(v.originKey), signature) ? undefined : 'bad_signature';
  } catch {
    return 'bad_signature';
  }
}
