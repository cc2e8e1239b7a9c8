/**
 * Origin-signed versions in the blob store, on real files: what the store
 * mints is signed (token id included) and survives a restart intact; data
 * written before versions were signed is kept, readable, and this node's own
 * versions of it are signed at the next open while other nodes' stay as they
 * were (they are never relayed: see the transport).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobStore } from '../../../src/storage/blob-store.js';
import { HybridLogicalClock } from '../../../src/consensus/hlc.js';
import type { Version } from '../../../src/consensus/types.js';
import { silentLogger } from '../../../src/log.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { checkVersionSignature, signVersion } from '../../../src/identity/version-signature.js';
import { removeDir, tempDir } from '../../helpers/node.js';

const identity = generateIdentity();
const stranger = generateIdentity();
const dirs: string[] = [];
const open: BlobStore[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function openStore(dir: string, signed: boolean): Promise<BlobStore> {
  const store = await BlobStore.open(
    { dataDir: dir, maxBlobBytes: 1024 * 1024, quotaBytes: 10 * 1024 * 1024, tombstoneGraceMs: 60_000 },
    { nodeId: identity.id, clock: new HybridLogicalClock(() => Date.now()), logger: silentLogger(), ...(signed ? { sign: (v: Version) => signVersion(identity, v) } : {}) },
  );
  open.push(store);
  return store;
}

async function close(store: BlobStore): Promise<void> {
  await store.close();
  open.splice(open.indexOf(store), 1);
}

async function freshDir(): Promise<string> {
  const dir = await tempDir('gcdn-signed-');
  dirs.push(dir);
  return dir;
}

const body = (text: string): Readable => Readable.from([Buffer.from(text)]);

describe('signed versions in the store', () => {
  it('put and delete mint signed versions carrying the token id, and they reload signed', async () => {
    const dir = await freshDir();
    let store = await openStore(dir, true);
    const kept = randomUUID();
    const gone = randomUUID();
    const put = await store.put({ key: kept, body: body('hello'), contentType: 'text/plain', cacheControl: 'max-age=5', tokenId: 'tok-write-1' });
    await store.put({ key: gone, body: body('bye'), contentType: 'text/plain' });
    const del = await store.delete({ key: gone, tokenId: 'tok-delete-1' });
    expect(put.version).toMatchObject({ tokenId: 'tok-write-1', originKey: identity.publicKey, origin: identity.id });
    expect(checkVersionSignature(put.version)).toBeUndefined();
    expect(del?.version).toMatchObject({ tombstone: true, tokenId: 'tok-delete-1' });
    expect(checkVersionSignature(del?.version as Version)).toBeUndefined();
    expect(store.siblings(gone)).toEqual([del?.version]);

    await close(store);
    store = await openStore(dir, true);
    const reloaded = store.siblings(kept)[0] as Version;
    expect(reloaded).toEqual(put.version);
    expect(checkVersionSignature(reloaded)).toBeUndefined();
    expect(checkVersionSignature(store.siblings(gone)[0] as Version)).toBeUndefined();
    expect((await store.readBody(reloaded.sha256)).toString()).toBe('hello');
  });

  it('an anonymous write carries no tokenId', async () => {
    const store = await openStore(await freshDir(), true);
    const r = await store.put({ key: randomUUID(), body: body('x'), contentType: 'text/plain' });
    expect('tokenId' in r.version).toBe(false);
    expect(checkVersionSignature(r.version)).toBeUndefined();
  });

  it('data from before signing: nothing is lost; own versions are signed at the next open, others\' stay unsigned', async () => {
    const dir = await freshDir();
    let store = await openStore(dir, false);
    const mine = randomUUID();
    const deleted = randomUUID();
    const theirs = randomUUID();
    const w = await store.put({ key: mine, body: body('old bytes'), contentType: 'text/plain' });
    await store.put({ key: deleted, body: body('old'), contentType: 'text/plain' });
    await store.delete({ key: deleted });
    expect(w.version.signature).toBeUndefined();
    // another node's unsigned version, learned from it before the upgrade
    const other: Version = {
      key: theirs, clock: { [stranger.id]: 1 }, timestamp: { wall: Date.now(), logical: 0 }, origin: stranger.id,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 0, contentType: 'application/octet-stream', tombstone: true,
    };
    await store.applyRemote([other]);
    await close(store);

    store = await openStore(dir, true);
    const signed = store.siblings(mine)[0] as Version;
    expect(checkVersionSignature(signed)).toBeUndefined();
    // the same version, now signed: every defining field unchanged, the body still served
    const { originKey: _k, signature: _s, ...same } = signed;
    expect(same).toEqual(w.version);
    expect((await store.readBody(signed.sha256)).toString()).toBe('old bytes');
    expect(checkVersionSignature(store.siblings(deleted)[0] as Version)).toBeUndefined();
    const kept = store.siblings(theirs)[0] as Version;
    expect(kept).toEqual(other);
    expect(checkVersionSignature(kept)).toBe('unsigned');

    // the signed sets were logged: a third open (even without a signer) finds them signed
    await close(store);
    store = await openStore(dir, false);
    expect(store.siblings(mine)[0]).toEqual(signed);
    expect(store.siblings(theirs)[0]).toEqual(other);
  });
});
