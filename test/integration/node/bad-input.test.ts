/**
 * Bad input changes nothing and gets the right 4xx with the JSON error shape:
 * malformed GUIDs, ranges, headers and vector clocks, oversized bodies, a
 * client that disconnects mid-upload, and one that stalls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { startNode, removeDir, type TestNode } from '../../helpers/node.js';
import { stopAll } from '../../helpers/process.js';
import { waitFor } from '../../helpers/wait.js';

const MAX = 64 * 1024;
let node: TestNode;
let key: string;
let snapshot: string;

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer) {
  const res = await request(`${node.url}${path}`, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, text, headers: res.headers };
}

function expectError(r: { status: number; text: string }, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect((JSON.parse(r.text) as { error: { code: string } }).error.code).toBe(code);
}

/** Everything a client can observe of the store: the listing and the one known key's versions. */
async function observe(): Promise<string> {
  const list = await call('GET', '/blobs?limit=1000');
  const versions = await call('GET', `/blobs/${key}/versions`);
  const body = await call('GET', `/blobs/${key}`);
  return JSON.stringify([list.text, versions.text, body.text]);
}

/** Sends raw bytes on a socket and returns what came back before the server closed or `ms` passed. */
async function raw(bytes: string, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(node.port, node.host);
    let out = '';
    const timer = setTimeout(() => { socket.destroy(); resolve(out); }, waitMs);
    socket.on('data', (d: Buffer) => { out += d.toString(); });
    socket.on('close', () => { clearTimeout(timer); resolve(out); });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

beforeAll(async () => {
  node = await startNode({ args: ['--max-blob-size', String(MAX), '--min-upload-rate', '4096', '--stall-window', '500'] });
  key = randomUUID();
  expect((await call('PUT', `/blobs/${key}`, { 'content-type': 'text/plain' }, 'the one true body')).status).toBe(201);
  snapshot = await observe();
});

afterAll(async () => {
  expect(node.proc.hasExited(), `the node died:\n${node.proc.output()}`).toBe(false);
  expect(await observe()).toBe(snapshot);
  const tmp = await readdir(join(node.dataDir, 'tmp'));
  expect(tmp).toEqual([]);
  await node.proc.stop();
  await stopAll();
  await removeDir(node.dataDir);
});

describe('malformed GUIDs', () => {
  it.each(['not-a-guid', '123', `${randomUUID()}x`, 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..%2F..%2Fidentity.json'])('GET/PUT/DELETE /blobs/%s → 400', async (bad) => {
    expectError(await call('GET', `/blobs/${bad}`), 400, 'CDN_ERR_BAD_GUID');
    expectError(await call('HEAD', `/blobs/${bad}`).then((r) => ({ ...r, text: '{"error":{"code":"CDN_ERR_BAD_GUID"}}' })), 400, 'CDN_ERR_BAD_GUID');
    expectError(await call('PUT', `/blobs/${bad}`, {}, 'x'), 400, 'CDN_ERR_BAD_GUID');
    expectError(await call('DELETE', `/blobs/${bad}`), 400, 'CDN_ERR_BAD_GUID');
    expectError(await call('GET', `/blobs/${bad}/versions`), 400, 'CDN_ERR_BAD_GUID');
  });

  it('a path that does not percent-decode is 400', async () => {
    expectError(await call('GET', '/blobs/%E0%A4%A'), 400, 'CDN_ERR_BAD_GUID');
  });
});

describe('malformed headers', () => {
  it.each([
    ['n1=1'], ['nZZZZZZZZZZZZZZZZ=1'], ['n0123456789abcdef=1.5'], ['n0123456789abcdef="1"'], ['n0123456789abcdef=-1'],
    ['n0123456789abcdef=1;x=2'], ['n0123456789abcdef=(1 2)'], ['__proto__=1'], ['n0123456789abcdef=?1'], ['oversized'],
  ])('Vector-Clock #%# (%s) → 400 on PUT and DELETE', async (clock) => {
    if (clock === 'oversized') clock = `n0123456789abcdef=1, ${'x'.repeat(9000)}=1`;
    expectError(await call('PUT', `/blobs/${key}`, { 'vector-clock': clock }, 'overwrite attempt'), 400, 'CDN_ERR_BAD_VECTOR_CLOCK');
    expectError(await call('DELETE', `/blobs/${key}`, { 'vector-clock': clock }), 400, 'CDN_ERR_BAD_VECTOR_CLOCK');
  });

  it('rejects malformed If-Match, If-None-Match, Content-Type, Cache-Control and digests', async () => {
    expectError(await call('PUT', `/blobs/${key}`, { 'if-match': 'no-quotes' }, 'x'), 400, 'CDN_ERR_BAD_HEADER');
    expectError(await call('PUT', `/blobs/${key}`, { 'if-none-match': '"a", bad' }, 'x'), 400, 'CDN_ERR_BAD_HEADER');
    expectError(await call('GET', `/blobs/${key}`, { 'if-none-match': 'W/unquoted' }), 400, 'CDN_ERR_BAD_HEADER');
    expectError(await call('PUT', `/blobs/${key}`, { 'content-type': 'not a media type' }, 'x'), 400, 'CDN_ERR_BAD_HEADER');
    expectError(await call('PUT', `/blobs/${key}`, { 'content-type': `text/${'a'.repeat(300)}` }, 'x'), 400, 'CDN_ERR_BAD_HEADER');
    expectError(await call('PUT', `/blobs/${key}`, { 'cache-control': 'x'.repeat(300) }, 'x'), 400, 'CDN_ERR_BAD_HEADER');
    expectError(await call('PUT', `/blobs/${key}`, { 'x-content-sha256': 'abc' }, 'x'), 400, 'CDN_ERR_BAD_HEADER');
    expectError(await call('PUT', `/blobs/${key}`, { 'content-digest': 'sha-256=:short:' }, 'x'), 400, 'CDN_ERR_BAD_HEADER');
    expectError(await call('PUT', `/blobs/${key}`, { 'content-digest': '(((' }, 'x'), 400, 'CDN_ERR_BAD_HEADER');
  });

  it('rejects malformed ranges', async () => {
    expectError(await call('GET', `/blobs/${key}`, { range: 'bytes=x-y' }), 400, 'CDN_ERR_BAD_RANGE');
    expectError(await call('GET', `/blobs/${key}`, { range: `bytes=${'1-2,'.repeat(2000)}1-2` }), 400, 'CDN_ERR_BAD_RANGE');
  });

  it('answers 431 to oversized headers without crashing', async () => {
    const res = await raw(`GET /blobs/${key} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 431/);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('refuses request smuggling shapes (both Content-Length and Transfer-Encoding, duplicate lengths)', async () => {
    const both = await raw(`PUT /blobs/${key} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /blobs/${key} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(both).toMatch(/^HTTP\/1\.1 400/);
    const dup = await raw(`PUT /blobs/${key} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`);
    expect(dup).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe('oversized and broken bodies', () => {
  it('413 on a declared Content-Length over the maximum, before reading the body', async () => {
    const r = await raw(`PUT /blobs/${randomUUID()} HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX + 1}\r\n\r\n`);
    expect(r).toMatch(/^HTTP\/1\.1 413/);
    expect(r).toContain('CDN_ERR_TOO_LARGE');
  });

  it('413 on a chunked body that grows past the maximum', async () => {
    const k = randomUUID();
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 20; i++) yield Buffer.alloc(8 * 1024, 1);
    }
    const res = await request(`${node.url}/blobs/${k}`, { method: 'PUT', body: Readable.from(chunks()) }).catch((err: unknown) => err);
    if (res instanceof Error) {
      // The server may close before the client finished sending; either way nothing is stored.
      expect(res.message).toBeTruthy();
    } else {
      expect((res as { statusCode: number }).statusCode).toBe(413);
      await (res as { body: { text(): Promise<string> } }).body.text();
    }
    expectError(await call('GET', `/blobs/${k}`), 404, 'CDN_ERR_NOT_FOUND');
  });

  it('a client that disconnects mid-upload leaves nothing behind', async () => {
    const k = randomUUID();
    await new Promise<void>((resolve) => {
      const socket = connect(node.port, node.host, () => {
        socket.write(`PUT /blobs/${k} HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n`);
        socket.write(Buffer.alloc(10_000, 7), () => {
          socket.destroy();
          resolve();
        });
      });
    });
    await waitFor(async () => (await readdir(join(node.dataDir, 'tmp'))).length === 0, { what: 'temp file of the aborted upload to be removed' });
    expectError(await call('GET', `/blobs/${k}`), 404, 'CDN_ERR_NOT_FOUND');
  });

  it('many clients that disconnect mid-upload at once do not crash the node (temp file fd closed twice)', async () => {
    // Regression: a failed upload's write stream closed the temp file's raw fd and
    // the store closed it again; by then the number could be a new client socket's,
    // and libuv aborted the process (SIGABRT in uv__epoll_ctl_prep).
    const k = randomUUID();
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => new Promise<void>((resolve) => {
        const declared = 1000 + ((round * 8 + i) * 7919) % 60_000;
        const socket = connect(node.port, node.host, () => {
          socket.write(`PUT /blobs/${k} HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`);
          socket.write(Buffer.alloc(Math.floor(declared * ((i + 1) / 10)), 7), () => {
            socket.destroy();
            resolve();
          });
        });
        socket.on('error', () => resolve());
      })));
    }
    await waitFor(async () => (await readdir(join(node.dataDir, 'tmp'))).length === 0, { what: 'temp files of the aborted uploads to be removed' });
    expect(node.proc.hasExited(), node.proc.output()).toBe(false);
    expect((await call('GET', '/healthz')).status).toBe(200);
    expectError(await call('GET', `/blobs/${k}`), 404, 'CDN_ERR_NOT_FOUND');
  });

  it('an upload that stalls below the minimum rate is cut off with 408 and leaves nothing', async () => {
    const k = randomUUID();
    const answer = await new Promise<string>((resolve) => {
      let out = '';
      const socket = connect(node.port, node.host, () => {
        socket.write(`PUT /blobs/${k} HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\nsome bytes then silence`);
      });
      socket.on('data', (d: Buffer) => { out += d.toString(); });
      socket.on('close', () => resolve(out));
      socket.on('error', () => resolve(out));
      setTimeout(() => socket.destroy(), 15_000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('CDN_ERR_UPLOAD_STALLED');
    expectError(await call('GET', `/blobs/${k}`), 404, 'CDN_ERR_NOT_FOUND');
  });
});
