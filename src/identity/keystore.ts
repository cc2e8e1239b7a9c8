/**
 * The node's Ed25519 key pair, kept in its data dir (`identity.json`, mode
 * 0600) so the node keeps its id across restarts. Written atomically: temp
 * file, fsync, rename, directory fsync.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { decodePublicKey, nodeIdFromPublicKey } from './node-id.js';

export const IDENTITY_FILE = 'identity.json';

const IdentityFile = z.strictObject({
  version: z.literal(1),
  publicKey: z.string(),
  privateKeyPkcs8: z.string(),
});

export interface NodeIdentity {
  readonly id: string;
  /** base64url of the 32 raw public key bytes */
  readonly publicKey: string;
  readonly privateKey: KeyObject;
  sign(data: Buffer): string;
}

function rawPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return jwk.x;
}

function identityFrom(privateKey: KeyObject): NodeIdentity {
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return {
    id: nodeIdFromPublicKey(publicKey),
    publicKey,
    privateKey,
    sign: (data) => sign(null, data, privateKey).toString('base64url'),
  };
}

export function generateIdentity(): NodeIdentity {
  return identityFrom(generateKeyPairSync('ed25519').privateKey);
}

/** Verifies a base64url Ed25519 signature against a base64url raw public key. */
export function verifySignature(publicKey: string, data: Buffer, signature: string): boolean {
  const raw = decodePublicKey(publicKey);
  if (raw === undefined) return false;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
  try {
    return verify(null, data, key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Loads the identity from `dir`, creating and persisting a new one on first start. */
export async function loadOrCreateIdentity(dir: string): Promise<NodeIdentity> {
  const path = join(dir, IDENTITY_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    const parsed = IdentityFile.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${path} is not a valid identity file: ${parsed.error.issues[0]?.message ?? 'bad shape'}`);
    const privateKey = createPrivateKey({ key: Buffer.from(parsed.data.privateKeyPkcs8, 'base64'), format: 'der', type: 'pkcs8' });
    const identity = identityFrom(privateKey);
    if (identity.publicKey !== parsed.data.publicKey) throw new Error(`${path}: public key does not match private key`);
    return identity;
  }
  const identity = generateIdentity();
  const body = JSON.stringify({
    version: 1,
    publicKey: identity.publicKey,
    privateKeyPkcs8: identity.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  });
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return identity;
}
