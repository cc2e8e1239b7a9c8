/**
 * SPEC §6 against a real node process and a real disk: restarts keep data,
 * kill -9 mid-upload exposes nothing partial and loses nothing acknowledged,
 * a flipped byte on disk is detected and never served, a torn metadata log
 * is repaired at start, and the quota gives 507.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import { appendFile, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startNode, removeDir, tempDir, type TestNode } from '../../helpers/node.js';
import { stopAll } from '../../helpers/process.js';
import { waitFor } from '../../helpers/wait.js';

const dirs: string[] = [];
afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

async function fresh(args: string[] = []): Promise<TestNode> {
  const dataDir = await tempDir();
  dirs.push(dataDir);
  return startNode({ dataDir, args });
}

async function put(node: TestNode, key: string, body: string | Buffer | Readable) {
  const res = await request(`${node.url}/blobs/${key}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  return { status: res.statusCode, text: await res.body.text() };
}

async function get(node: TestNode, key: string) {
  const res = await request(`${node.url}/blobs/${key}`);
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body, headers: res.headers };
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function patterned(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
}

describe('restart', () => {
  it('keeps every acknowledged blob, its versions and its node id', async () => {
    const node = await fresh();
    const keys = Array.from({ length: 20 }, () => randomUUID());
    for (const [i, k] of keys.entries()) expect((await put(node, k, patterned(1000 + i * 5000, i))).status).toBe(201);
    const deleted = keys[0] as string;
    expect((await request(`${node.url}/blobs/${deleted}`, { method: 'DELETE' })).statusCode).toBe(204);
    const id = ((await (await request(`${node.url}/cluster`)).body.json()) as { id: string }).id;
    expect(await node.proc.stop()).toBe(0);

    const again = await startNode({ dataDir: node.dataDir, port: node.port });
    expect(((await (await request(`${again.url}/cluster`)).body.json()) as { id: string }).id).toBe(id);
    expect((await get(again, deleted)).status).toBe(404);
    for (const [i, k] of keys.entries()) {
      if (k === deleted) continue;
      const r = await get(again, k);
      expect(r.status).toBe(200);
      expect(sha(r.body)).toBe(sha(patterned(1000 + i * 5000, i)));
    }
  });
});

describe('kill -9', () => {
  it('during a 200 MB upload leaves no partial blob and loses no earlier acknowledged write', async () => {
    const node = await fresh();
    const earlier = randomUUID();
    const earlierBody = patterned(300_000, 9);
    expect((await put(node, earlier, earlierBody)).status).toBe(201);

    const victim = randomUUID();
    const total = 200 * 1024 * 1024;
    const chunk = patterned(1024 * 1024, 3);
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= total) { this.push(null); return; }
        sent += chunk.length;
        this.push(chunk);
      },
    });
    const upload = put(node, victim, source).catch((err: unknown) => err);
    // Kill once the node has a good part of the body on disk (its temp file grows).
    await waitFor(async () => {
      const tmp = await readdir(join(node.dataDir, 'tmp'));
      const sizes = await Promise.all(tmp.map((f) => stat(join(node.dataDir, 'tmp', f)).then((s) => s.size, () => 0)));
      return sizes.some((s) => s > 20 * 1024 * 1024);
    }, { what: 'the upload to be partly written', timeoutMs: 60_000 });
    await node.proc.kill9();
    await upload;

    const again = await startNode({ dataDir: node.dataDir, port: node.port });
    expect((await get(again, victim)).status).toBe(404);
    const r = await get(again, earlier);
    expect(r.status).toBe(200);
    expect(sha(r.body)).toBe(sha(earlierBody));
    expect(await readdir(join(again.dataDir, 'tmp'))).toEqual([]);
    // Only the acknowledged body is left in the blob store.
    const prefixes = await readdir(join(again.dataDir, 'blobs'));
    const files = (await Promise.all(prefixes.map((p) => readdir(join(again.dataDir, 'blobs', p))))).flat();
    expect(files).toEqual([sha(earlierBody)]);
  });
});

describe('corruption', () => {
  async function flipByte(node: TestNode, body: Buffer, offset: number): Promise<void> {
    const path = join(node.dataDir, 'blobs', sha(body).slice(0, 2), sha(body));
    const fh = await open(path, 'r+');
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, offset);
    one[0] = (one[0] ?? 0) ^ 0x5a;
    await fh.write(one, 0, 1, offset);
    await fh.close();
  }

  it('a flipped byte in a cached-size body (2 MiB) is detected before any byte is served', async () => {
    const node = await fresh();
    const key = randomUUID();
    const body = patterned(2 * 1024 * 1024, 4);
    await put(node, key, body);
    await flipByte(node, body, 1_500_000);
    const r = await get(node, key);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).error.code).toBe('CDN_ERR_BODY_UNAVAILABLE');
  });

  it('a flipped byte in a small body is detected and never served', async () => {
    const node = await fresh();
    const key = randomUUID();
    const body = patterned(5000, 1);
    await put(node, key, body);
    await node.proc.stop();
    // The running node may hold it in memory; a fresh process reads the disk.
    await flipByte(node, body, 1234);
    const again = await startNode({ dataDir: node.dataDir, port: node.port });
    const r = await get(again, key);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).error.code).toBe('CDN_ERR_BODY_UNAVAILABLE');
    expect(r.body.includes(body.subarray(0, 100))).toBe(false);
    const metrics = await (await request(`${again.url}/metrics`)).body.text();
    expect(metrics).toMatch(/cdn_store_corrupt_bodies_detected 1/);
    // It stays refused (the copy was moved aside) and the version is still known.
    expect((await get(again, key)).status).toBe(503);
    const versions = (await (await request(`${again.url}/blobs/${key}/versions`)).body.json()) as { winner: { bodyHeld: boolean } };
    expect(versions.winner.bodyHeld).toBe(false);
  });

  it('a flipped byte deep in a large body cuts the response before the bad chunk', async () => {
    const node = await fresh();
    const key = randomUUID();
    // Larger than the hot-body cache's item limit (2 MiB), so it streams from disk chunk by chunk.
    const body = patterned(3 * 1024 * 1024, 2);
    await put(node, key, body);
    await flipByte(node, body, 2_500_000);
    const res = await request(`${node.url}/blobs/${key}`);
    expect(res.statusCode).toBe(200);
    const received: Buffer[] = [];
    const outcome = await (async () => {
      for await (const c of res.body) received.push(c as Buffer);
      return 'complete';
    })().catch(() => 'cut');
    const got = Buffer.concat(received);
    expect(outcome).toBe('cut');
    expect(got.length).toBeLessThan(2_500_000);
    expect(got.equals(body.subarray(0, got.length))).toBe(true);
    expect((await get(node, key)).status).toBe(503);
  });
});

describe('metadata log damage', () => {
  it('a torn tail is cut off at start and every complete record is kept', async () => {
    const node = await fresh();
    const keys = Array.from({ length: 5 }, () => randomUUID());
    for (const k of keys) await put(node, k, `body ${k}`);
    await node.proc.stop();
    await appendFile(join(node.dataDir, 'meta.log'), Buffer.from([0, 0, 1, 0, 9, 9]));
    const again = await startNode({ dataDir: node.dataDir, port: node.port });
    for (const k of keys) expect((await get(again, k)).body.toString()).toBe(`body ${k}`);
    const files = await readdir(node.dataDir);
    expect(files.some((f) => f.startsWith('meta.log.damaged-'))).toBe(true);
    // And it keeps writing after the repair.
    const more = randomUUID();
    expect((await put(again, more, 'after repair')).status).toBe(201);
    await again.proc.stop();
    const third = await startNode({ dataDir: node.dataDir, port: node.port });
    expect((await get(third, more)).body.toString()).toBe('after repair');
  });
});

describe('quota', () => {
  it('answers 507 when a body would pass the quota, and stores nothing', async () => {
    const node = await fresh(['--quota', '100000']);
    const a = randomUUID();
    expect((await put(node, a, patterned(60_000, 1))).status).toBe(201);
    const b = randomUUID();
    const full = await put(node, b, patterned(60_000, 2));
    expect(full.status).toBe(507);
    expect(JSON.parse(full.text).error.code).toBe('CDN_ERR_STORAGE_QUOTA');
    expect((await get(node, b)).status).toBe(404);
    expect((await get(node, a)).status).toBe(200);
    // Replacing a body frees its space once the new version wins.
    expect((await put(node, a, patterned(30_000, 3))).status).toBe(200);
    await waitFor(async () => (await put(node, b, patterned(60_000, 2))).status === 201, { what: 'space freed by the replaced body' });
  });
});

describe('graceful stop', () => {
  it('SIGTERM exits 0 and the data is intact', async () => {
    const node = await fresh();
    const key = randomUUID();
    await put(node, key, 'bye');
    expect(await node.proc.stop()).toBe(0);
    const again = await startNode({ dataDir: node.dataDir, port: node.port });
    expect((await get(again, key)).body.toString()).toBe('bye');
  });
});
