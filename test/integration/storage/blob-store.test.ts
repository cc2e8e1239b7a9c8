/**
 * The blob store in-process, on a real disk: group commit under concurrency,
 * compaction, tombstone collection and the node-wide clock counter, across
 * restarts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobStore } from '../../../src/storage/blob-store.js';
import { HybridLogicalClock } from '../../../src/consensus/hlc.js';
import { compareClocks } from '../../../src/consensus/vector-clock.js';
import { silentLogger } from '../../../src/log.js';
import { CdnError } from '../../../src/errors.js';
import { removeDir, tempDir } from '../../helpers/node.js';

const NODE = 'n0123456789abcdef';
const dirs: string[] = [];
const open: BlobStore[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function openStore(dataDir?: string, now: () => number = () => Date.now(), graceMs = 1000): Promise<BlobStore> {
  const dir = dataDir ?? await tempDir('gcdn-store-');
  if (dataDir === undefined) dirs.push(dir);
  const store = await BlobStore.open(
    { dataDir: dir, maxBlobBytes: 10 * 1024 * 1024, quotaBytes: 100 * 1024 * 1024, tombstoneGraceMs: graceMs },
    { nodeId: NODE, clock: new HybridLogicalClock(now), logger: silentLogger() },
  );
  open.push(store);
  return store;
}

async function reopen(store: BlobStore, now?: () => number): Promise<BlobStore> {
  await store.close();
  open.splice(open.indexOf(store), 1);
  return openStore(store.options.dataDir, now);
}

const put = (store: BlobStore, key: string, text: string) =>
  store.put({ key, body: Readable.from([Buffer.from(text)]), contentType: 'text/plain' });

describe('BlobStore', () => {
  it('serialises concurrent writes to one key: every write is acknowledged and each dominates the one before', async () => {
    const store = await openStore();
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => put(store, key, `w${i}`)));
    const counters = results.map((r) => r.version.clock[NODE] ?? 0).sort((a, b) => a - b);
    expect(new Set(counters).size).toBe(40);
    expect(store.siblings(key)).toHaveLength(1);
    const winner = store.siblings(key)[0];
    for (const r of results) expect(['before', 'equal']).toContain(compareClocks(r.version.clock, winner?.clock ?? {}));
  });

  it('drops a peer\'s body it already holds unread, and the stream\'s abort error does not become an uncaught exception', async () => {
    const store = await openStore();
    const { version } = await put(store, randomUUID(), 'held already');
    // as undici's body from a peer does: destroyed before its end, it fails with an abort error
    const aborts = (): Readable => new Readable({ read() { this.push('held'); }, destroy(err, callback) { callback(err ?? new Error('aborted before its end')); } });
    for (const source of [aborts(), aborts()]) {
      const closed = new Promise((resolve) => source.once('close', resolve)); // not events.once: it would listen for 'error' itself
      const taken = await store.putRemoteBody(version.sha256, version.size, source);
      expect(taken).toBe(false);
      await closed; // the error is emitted before 'close': unlistened, it would have failed this test run by now
      expect(source.errored?.message).toBe('aborted before its end');
    }
    // and a staged write of a version the store already holds drops its body the same way
    const staged = aborts();
    const closed = new Promise((resolve) => staged.once('close', resolve));
    await store.stageRemote(version, staged);
    await closed;
    expect(staged.errored?.message).toBe('aborted before its end');
  });

  it('compaction keeps the live state and shrinks the log', async () => {
    let store = await openStore();
    const key = randomUUID();
    for (let i = 0; i < 200; i++) await put(store, key, `v${i}`);
    const other = randomUUID();
    await put(store, other, 'other');
    const before = store.stats().metaLogBytes;
    await store.compact();
    expect(store.stats().metaLogBytes).toBeLessThan(before / 10);
    const winnerBefore = store.siblings(key)[0];
    store = await reopen(store);
    expect(store.siblings(key)[0]).toEqual(winnerBefore);
    expect((await store.readBody(store.siblings(other)[0]?.sha256 ?? '')).toString()).toBe('other');
    // Superseded bodies are gone from disk; only the two live ones remain.
    const prefixes = await readdir(join(store.options.dataDir, 'blobs'));
    const files = (await Promise.all(prefixes.map((p) => readdir(join(store.options.dataDir, 'blobs', p))))).flat();
    expect(files).toHaveLength(2);
  });

  it('collects tombstones after the grace period, and a later write still outranks the forgotten versions', async () => {
    let now = Date.now();
    let store = await openStore(undefined, () => now);
    const key = randomUUID();
    const first = await put(store, key, 'alive');
    const tomb = await store.delete({ key });
    expect(tomb?.version.tombstone).toBe(true);
    expect(await store.collectTombstones(now)).toBe(0);
    now += 5000;
    expect(await store.collectTombstones(now)).toBe(1);
    expect(store.siblings(key)).toEqual([]);
    await store.compact();
    store = await reopen(store, () => now);
    expect(store.siblings(key)).toEqual([]);
    const reborn = await put(store, key, 'reborn');
    // Another node may still hold the old versions: neither may dominate the new write.
    expect(compareClocks(reborn.version.clock, first.version.clock)).toBe('after');
    expect(compareClocks(reborn.version.clock, tomb?.version.clock ?? {})).toBe('after');
  });

  it('a conditional write that loses the race at commit gets 409 and changes nothing', async () => {
    const store = await openStore();
    const key = randomUUID();
    await put(store, key, 'base');
    const slowBody = new Readable({ read() {} });
    const conditional = store.put({
      key, body: slowBody, contentType: 'text/plain',
      check: (current, phase) => {
        if (current.length > 0 && phase === 'commit') throw new CdnError('CDN_ERR_CONFLICT');
      },
    });
    await put(store, key, 'racer');
    // The racer committed while the conditional body was still arriving.
    slowBody.push('late');
    slowBody.push(null);
    await expect(conditional).rejects.toMatchObject({ code: 'CDN_ERR_CONFLICT' });
    expect((await store.readBody(store.siblings(key)[0]?.sha256 ?? '')).toString()).toBe('racer');
  });

  it('identical bodies under different keys share one file, freed only when the last user goes', async () => {
    const store = await openStore();
    const a = randomUUID();
    const b = randomUUID();
    await put(store, a, 'same bytes');
    await put(store, b, 'same bytes');
    expect(store.stats().bodies).toBe(1);
    await store.delete({ key: a });
    expect(store.stats().bodies).toBe(1);
    expect((await store.readBody(store.siblings(b)[0]?.sha256 ?? '')).toString()).toBe('same bytes');
  });
});
