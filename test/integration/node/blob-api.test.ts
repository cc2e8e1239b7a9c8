/**
 * Every request of SPEC §3.2 that makes sense for one node, against a real
 * node process over real sockets with a real data dir, including each error
 * status and the JSON error shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { startNode, removeDir, type TestNode } from '../../helpers/node.js';
import { stopAll } from '../../helpers/process.js';

let node: TestNode;

beforeAll(async () => {
  node = await startNode();
});

afterAll(async () => {
  await node.proc.stop();
  await stopAll();
  await removeDir(node.dataDir);
});

type Headers = Record<string, string>;

async function call(method: string, path: string, options: { headers?: Headers; body?: string | Buffer } = {}) {
  const res = await request(`${node.url}${path}`, { method: method as 'GET', headers: options.headers, body: options.body });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers as Record<string, string | undefined>, body, text: body.toString('utf8') };
}

function json(r: { text: string }): Record<string, unknown> {
  return JSON.parse(r.text) as Record<string, unknown>;
}

function expectError(r: { status: number; text: string; headers: Record<string, string | undefined> }, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const body = json(r) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

async function put(key: string, body: string | Buffer, headers: Headers = {}) {
  return call('PUT', `/blobs/${key}`, { body, headers: { 'content-type': 'text/plain', ...headers } });
}

describe('PUT and GET', () => {
  it('creates with 201, replaces with 200, and answers with the version JSON', async () => {
    const key = randomUUID();
    const first = await put(key, 'first body');
    expect(first.status).toBe(201);
    expect(first.headers.location).toBe(`/blobs/${key}`);
    const v1 = json(first);
    expect(v1).toMatchObject({ id: key, size: 10, sha256: sha('first body'), etag: `"${sha('first body')}"` });
    const [c1] = Object.values(v1.vectorClock as Record<string, number>);

    const second = await put(key, 'second body');
    expect(second.status).toBe(200);
    const v2 = json(second);
    const [c2] = Object.values(v2.vectorClock as Record<string, number>);
    expect(c2).toBeGreaterThan(c1 ?? Infinity);

    const got = await call('GET', `/blobs/${key}`);
    expect(got.status).toBe(200);
    expect(got.text).toBe('second body');
    expect(got.headers.etag).toBe(`"${sha('second body')}"`);
    expect(got.headers['content-type']).toBe('text/plain');
    expect(got.headers['content-length']).toBe('11');
    expect(got.headers['accept-ranges']).toBe('bytes');
    expect(got.headers['cache-control']).toBeTruthy();
    expect(Date.parse(got.headers['last-modified'] ?? '')).not.toBeNaN();
    expect(got.headers['vector-clock']).toBe(`${Object.keys(v2.vectorClock as object)[0]}=${c2}`);
  });

  it('HEAD gives the same headers and no body', async () => {
    const key = randomUUID();
    await put(key, 'head me');
    const head = await call('HEAD', `/blobs/${key}`);
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe('7');
    expect(head.headers.etag).toBe(`"${sha('head me')}"`);
  });

  it('stores Content-Type and Cache-Control as sent', async () => {
    const key = randomUUID();
    await put(key, '{}', { 'content-type': 'application/json', 'cache-control': 'public, max-age=31536000, immutable' });
    const got = await call('GET', `/blobs/${key}`);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('stores an empty body', async () => {
    const key = randomUUID();
    expect((await put(key, '')).status).toBe(201);
    const got = await call('GET', `/blobs/${key}`);
    expect(got.status).toBe(200);
    expect(got.body.length).toBe(0);
  });

  it('streams a multi-chunk body back byte for byte', async () => {
    const key = randomUUID();
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    expect((await put(key, big, { 'content-type': 'application/octet-stream' })).status).toBe(201);
    const got = await call('GET', `/blobs/${key}`);
    expect(got.body.length).toBe(big.length);
    expect(sha(got.body)).toBe(sha(big));
  });

  it('POST /blobs picks a GUID and answers 201 with Location', async () => {
    const r = await call('POST', '/blobs', { body: 'posted', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(201);
    const id = json(r).id as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.headers.location).toBe(`/blobs/${id}`);
    expect((await call('GET', `/blobs/${id}`)).text).toBe('posted');
  });

  it('accepts an upper-case GUID as the same key', async () => {
    const key = randomUUID();
    await put(key, 'case');
    expect((await call('GET', `/blobs/${key.toUpperCase()}`)).text).toBe('case');
  });

  it('checks a client digest: a match stores, a mismatch is 400 and stores nothing', async () => {
    const key = randomUUID();
    const bad = await put(key, 'digest me', { 'x-content-sha256': sha('something else') });
    expectError(bad, 400, 'CDN_ERR_BAD_DIGEST');
    expectError(await call('GET', `/blobs/${key}`), 404, 'CDN_ERR_NOT_FOUND');
    const b64 = createHash('sha256').update('digest me').digest('base64');
    expect((await put(key, 'digest me', { 'content-digest': `sha-256=:${b64}:` })).status).toBe(201);
  });
});

describe('conditional requests', () => {
  it('If-None-Match and If-Modified-Since give 304', async () => {
    const key = randomUUID();
    await put(key, 'cached');
    const etag = `"${sha('cached')}"`;
    expect((await call('GET', `/blobs/${key}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await call('GET', `/blobs/${key}`, { headers: { 'if-none-match': `"other", W/${etag}` } })).status).toBe(304);
    expect((await call('GET', `/blobs/${key}`, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    const later = new Date(Date.now() + 60_000).toUTCString();
    expect((await call('GET', `/blobs/${key}`, { headers: { 'if-modified-since': later } })).status).toBe(304);
    const earlier = new Date(Date.now() - 3_600_000).toUTCString();
    expect((await call('GET', `/blobs/${key}`, { headers: { 'if-modified-since': earlier } })).status).toBe(200);
  });

  it('If-Match on GET gives 412 when it does not match', async () => {
    const key = randomUUID();
    await put(key, 'x');
    expectError(await call('GET', `/blobs/${key}`, { headers: { 'if-match': '"nope"' } }), 412, 'CDN_ERR_PRECONDITION_FAILED');
    expect((await call('GET', `/blobs/${key}`, { headers: { 'if-match': `"${sha('x')}"` } })).status).toBe(200);
  });

  it('PUT If-Match is compare-and-set', async () => {
    const key = randomUUID();
    await put(key, 'v1');
    const stale = await put(key, 'v2', { 'if-match': '"0000"' });
    expectError(stale, 412, 'CDN_ERR_PRECONDITION_FAILED');
    expect((await call('GET', `/blobs/${key}`)).text).toBe('v1');
    const ok = await put(key, 'v2', { 'if-match': `"${sha('v1')}"` });
    expect(ok.status).toBe(200);
    expect((await call('GET', `/blobs/${key}`)).text).toBe('v2');
    expectError(await put(randomUUID(), 'x', { 'if-match': '*' }), 412, 'CDN_ERR_PRECONDITION_FAILED');
  });

  it('PUT If-None-Match: * creates only', async () => {
    const key = randomUUID();
    expect((await put(key, 'only once', { 'if-none-match': '*' })).status).toBe(201);
    expectError(await put(key, 'twice', { 'if-none-match': '*' }), 412, 'CDN_ERR_PRECONDITION_FAILED');
    expect((await call('GET', `/blobs/${key}`)).text).toBe('only once');
  });
});

describe('ranges', () => {
  const body = 'abcdefghijklmnopqrstuvwxyz';
  let key: string;
  beforeAll(async () => {
    key = randomUUID();
    await put(key, body);
  });

  it('serves a single range with 206 and Content-Range', async () => {
    const r = await call('GET', `/blobs/${key}`, { headers: { range: 'bytes=2-5' } });
    expect(r.status).toBe(206);
    expect(r.text).toBe('cdef');
    expect(r.headers['content-range']).toBe(`bytes 2-5/${body.length}`);
    const suffix = await call('GET', `/blobs/${key}`, { headers: { range: 'bytes=-3' } });
    expect(suffix.text).toBe('xyz');
    const open = await call('GET', `/blobs/${key}`, { headers: { range: 'bytes=24-' } });
    expect(open.text).toBe('yz');
  });

  it('serves several ranges as multipart/byteranges', async () => {
    const r = await call('GET', `/blobs/${key}`, { headers: { range: 'bytes=0-1,10-12' } });
    expect(r.status).toBe(206);
    const type = r.headers['content-type'] ?? '';
    expect(type).toMatch(/^multipart\/byteranges; boundary=/);
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    expect(r.text).toContain(`Content-Range: bytes 0-1/${body.length}\r\n\r\nab`);
    expect(r.text).toContain(`Content-Range: bytes 10-12/${body.length}\r\n\r\nklm`);
  });

  it('answers 416 with bytes */size when no range overlaps', async () => {
    const r = await call('GET', `/blobs/${key}`, { headers: { range: 'bytes=100-200' } });
    expectError(r, 416, 'CDN_ERR_RANGE_NOT_SATISFIABLE');
    expect(r.headers['content-range']).toBe(`bytes */${body.length}`);
  });

  it('answers 400 for a malformed range', async () => {
    for (const range of ['bytes=abc', 'pages=1-2', 'bytes=', 'bytes=--1']) {
      expectError(await call('GET', `/blobs/${key}`, { headers: { range } }), 400, 'CDN_ERR_BAD_RANGE');
    }
  });

  it('ignores Range when If-Range names another version', async () => {
    const r = await call('GET', `/blobs/${key}`, { headers: { range: 'bytes=0-1', 'if-range': '"stale"' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe(body);
    const same = await call('GET', `/blobs/${key}`, { headers: { range: 'bytes=0-1', 'if-range': `"${sha(body)}"` } });
    expect(same.status).toBe(206);
  });
});

describe('DELETE and versions', () => {
  it('DELETE writes a tombstone: 204, then 404, and a repeat is 204', async () => {
    const key = randomUUID();
    await put(key, 'doomed');
    const del = await call('DELETE', `/blobs/${key}`);
    expect(del.status).toBe(204);
    expect(del.headers['vector-clock']).toMatch(/^n[0-9a-f]{16}=\d+$/);
    expectError(await call('GET', `/blobs/${key}`), 404, 'CDN_ERR_NOT_FOUND');
    expect((await call('DELETE', `/blobs/${key}`)).status).toBe(204);
    expectError(await call('DELETE', `/blobs/${randomUUID()}`), 404, 'CDN_ERR_NOT_FOUND');
    const versions = json(await call('GET', `/blobs/${key}/versions`));
    expect(versions.deleted).toBe(true);
    expect((versions.winner as { tombstone: boolean }).tombstone).toBe(true);
  });

  it('a write after a delete brings the key back with a newer clock', async () => {
    const key = randomUUID();
    await put(key, 'one');
    const del = await call('DELETE', `/blobs/${key}`);
    const deleted = Number(del.headers['vector-clock']?.split('=')[1]);
    const again = await put(key, 'two');
    expect(again.status).toBe(201);
    expect(Object.values(json(again).vectorClock as Record<string, number>)[0]).toBeGreaterThan(deleted);
  });

  it('GET /versions shows the winner with clock, timestamp, origin, etag and size', async () => {
    const key = randomUUID();
    await put(key, 'versioned');
    const r = await call('GET', `/blobs/${key}/versions`);
    expect(r.status).toBe(200);
    const v = json(r) as { id: string; winner: Record<string, unknown>; siblings: unknown[] };
    expect(v.id).toBe(key);
    expect(v.siblings).toEqual([]);
    expect(v.winner).toMatchObject({ etag: `"${sha('versioned')}"`, size: 9, tombstone: false });
    expect(v.winner.origin).toMatch(/^n[0-9a-f]{16}$/);
    expect(Date.parse(v.winner.timestamp as string)).not.toBeNaN();
    expectError(await call('GET', `/blobs/${randomUUID()}/versions`), 404, 'CDN_ERR_NOT_FOUND');
  });

  it('a Vector-Clock context from an earlier read is merged into the write', async () => {
    const key = randomUUID();
    const foreign = 'n0123456789abcdef=5';
    const r = await put(key, 'ctx', { 'vector-clock': foreign });
    const clock = json(r).vectorClock as Record<string, number>;
    expect(clock.n0123456789abcdef).toBe(5);
    expect(Object.keys(clock)).toHaveLength(2);
  });
});

describe('listing', () => {
  it('pages through every live key with a cursor', async () => {
    const keys = Array.from({ length: 7 }, () => randomUUID());
    for (const k of keys) await put(k, `listed ${k}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${cursor}`;
      const page = json(await call('GET', `/blobs${q}`)) as { items: { id: string; etag: string; size: number }[]; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 1000);
    for (const k of keys) expect(seen).toContain(k);
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('rejects bad limits and cursors with 400', async () => {
    for (const q of ['?limit=0', '?limit=1001', '?limit=abc', '?cursor=%00%01', '?cursor=bm90LWEta2V5', '?limit=1&limit=2', '?bogus=1']) {
      expectError(await call('GET', `/blobs${q}`), 400, 'CDN_ERR_BAD_QUERY');
    }
  });
});

describe('operator endpoints', () => {
  it('answers /healthz, /readyz, /metrics, /openapi.json, /cluster and /', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect(json(await call('GET', '/readyz')).status).toBe('ready');
    const metrics = await call('GET', '/metrics');
    expect(metrics.text).toContain('cdn_http_requests_total');
    expect(metrics.text).toContain('cdn_store_live_keys');
    const api = json(await call('GET', '/openapi.json')) as { openapi: string; paths: Record<string, unknown> };
    expect(api.openapi).toBe('3.1.0');
    expect(Object.keys(api.paths)).toContain('/blobs/{guid}');
    const cluster = json(await call('GET', '/cluster')) as { id: string; peers: unknown[]; blobs: { live: number } };
    expect(cluster.id).toMatch(/^n[0-9a-f]{16}$/);
    expect(Array.isArray(cluster.peers)).toBe(true);
    expect(cluster.blobs.live).toBeGreaterThan(0);
    const page = await call('GET', '/');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain(cluster.id);
  });

  it('every documented path answers on the running node', async () => {
    const api = json(await call('GET', '/openapi.json')) as { paths: Record<string, Record<string, unknown>> };
    const key = randomUUID();
    await put(key, 'documented');
    for (const [path, ops] of Object.entries(api.paths)) {
      if (!('get' in ops)) continue;
      const r = await call('GET', path.replace('{guid}', key));
      expect(r.status, `GET ${path}`).toBe(200);
    }
  });

  it('unknown routes are 404 and wrong methods 405, both as JSON errors', async () => {
    expectError(await call('GET', '/nope'), 404, 'CDN_ERR_ROUTE_NOT_FOUND');
    const patch = await call('PATCH', `/blobs/${randomUUID()}`);
    expectError(patch, 405, 'CDN_ERR_METHOD_NOT_ALLOWED');
    expect(patch.headers.allow).toContain('PUT');
    expectError(await call('DELETE', '/blobs'), 405, 'CDN_ERR_METHOD_NOT_ALLOWED');
  });
});
