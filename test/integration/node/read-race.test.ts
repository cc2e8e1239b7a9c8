/**
 * Regression, found by the chaos suite (20 s run, seed 532503541, under a
 * load average of 36): a node's final read of a blob answered 503
 * CDN_ERR_BODY_UNAVAILABLE while three owners held the body. The node held
 * a hand-off copy when the read looked, and custody dropped it (its owners
 * had confirmed) before the read opened it. The read must then stream the
 * body from an owner, as it would have had it looked a moment later.
 *
 * A real store on a real disk behind the real HTTP app; the cluster hooks
 * play the rest of the cluster: the owner's bytes, and custody dropping the
 * copy at exactly the moment of the race (when the read marks it used).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { HybridLogicalClock } from '../../../src/consensus/hlc.js';
import { silentLogger } from '../../../src/log.js';
import { BlobStore } from '../../../src/storage/blob-store.js';
import { BodyCache } from '../../../src/http/body-cache.js';
import { NodeMetrics } from '../../../src/http/metrics.js';
import { createNodeApp } from '../../../src/http/app.js';
import { createNodeServer, listen, closeGracefully } from '../../../src/http/server.js';
import { SERVER_OPTIONS } from '../../../src/http/server-config.js';
import type { BlobApiContext, ClusterHooks } from '../../../src/http/blob-context.js';
import type { Server } from 'node:http';
import { removeDir, tempDir } from '../../helpers/node.js';

let dir: string;
let store: BlobStore;
let server: Server;
let url: string;
/** bodies the "owners" serve, by sha256 */
const owners = new Map<string, Buffer>();
let remoteOpens = 0;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await tempDir('gcdn-read-race-');
  store = await BlobStore.open(
    { dataDir: dir, maxBlobBytes: 64 * 1024 * 1024, quotaBytes: 1024 * 1024 * 1024, tombstoneGraceMs: 86_400_000 },
    { nodeId: 'n0123456789abcdef', clock: new HybridLogicalClock(() => Date.now()), logger: silentLogger() },
  );
  const cluster: ClusterHooks = {
    published: () => undefined,
    obtainBody: async () => false,
    openRemoteBody: async (v, start, end) => {
      remoteOpens++;
      const body = owners.get(v.sha256);
      if (body === undefined) throw new Error('no owner holds it');
      return Readable.from([body.subarray(start, end + 1)]);
    },
    owners: () => [],
    // custody drops the hand-off copy right after the read found it
    touched: (s) => { void store.dropBody(s); },
    lookup: async () => false,
    settleRejoin: () => undefined,
    writeRefused: () => undefined,
  };
  const cache = new BodyCache(4 * 1024 * 1024, 1024 * 1024);
  const ctx: BlobApiContext = {
    store, cache, logger: silentLogger(), metrics: new NodeMetrics(() => store.stats(), () => cache.bytes),
    defaultCacheControl: 'public, max-age=60', minUploadBytesPerSecond: 1024, stallWindowMs: 30_000, maxBlobBytes: 64 * 1024 * 1024, cluster,
  };
  const app = createNodeApp(ctx, { metrics: ctx.metrics, cluster: () => { throw new Error('unused'); }, readiness: () => ({ ready: true, reason: 'test' }) });
  server = createNodeServer(ctx, app, { ...SERVER_OPTIONS.profiles.production, headersTimeoutMs: 20_000, maxConnections: 100 });
  await listen(server, 0, '127.0.0.1');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (server !== undefined) await closeGracefully(server, 1000);
  await store?.close();
  if (dir !== undefined) await removeDir(dir);
});

/** A blob written here (so held here), whose owners also hold it. */
async function handOffCopy(size: number): Promise<{ key: string; body: Buffer }> {
  const key = randomUUID();
  const body = randomBytes(size);
  owners.set(sha(body), body);
  const put = await request(`${url}/blobs/${key}`, { method: 'PUT', body });
  await put.body.dump();
  expect(put.statusCode).toBe(201);
  expect(store.hasBody(sha(body))).toBe(true);
  return { key, body };
}

describe('a hand-off copy dropped between the check and the open (chaos seed 532503541)', () => {
  it.each([
    ['small, read whole into the memory cache', 64 * 1024, undefined],
    ['large, streamed from disk', 3 * 1024 * 1024, undefined],
    ['a range of a large one', 3 * 1024 * 1024, [100_000, 199_999]],
  ] as const)('%s: served from an owner, not 503', async (_what, size, range) => {
    const { key, body } = await handOffCopy(size);
    const opensBefore = remoteOpens;
    const res = await request(`${url}/blobs/${key}`, range === undefined ? {} : { headers: { range: `bytes=${range[0]}-${range[1]}` } });
    const got = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode, got.toString('utf8', 0, 300)).toBe(range === undefined ? 200 : 206);
    expect(got.equals(range === undefined ? body : body.subarray(range[0], range[1] + 1))).toBe(true);
    expect(store.hasBody(sha(body))).toBe(false);
    expect(remoteOpens).toBe(opensBefore + 1);
  });
});
