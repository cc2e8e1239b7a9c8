/**
 * The client commands (`put`, `get`, `rm`, `status`) against a real node
 * process: byte-for-byte round trips, atomic downloads, one-line errors with
 * distinct exit codes (1 other, 2 not found, 3 unreachable), no progress
 * output when stderr is not a terminal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from '../helpers/process.js';
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, stopAll } from '../helpers/process.js';
import { removeDir, startNode, tempDir, type TestNode } from '../helpers/node.js';
import { freePort } from '../helpers/net.js';

let node: TestNode;
let dir: string;

beforeAll(async () => {
  node = await startNode();
  dir = await tempDir('gcdn-client-');
});

afterAll(async () => {
  await stopAll();
  await removeDir(node.dataDir);
  await removeDir(dir);
});

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('put and get', () => {
  it('round-trips a multi-MiB file byte for byte, quietly when not a TTY', async () => {
    const body = randomBytes(6 * 1024 * 1024 + 123);
    const file = join(dir, 'big.bin');
    await writeFile(file, body);
    const put = await runCli(['put', file, '--node', node.url]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).toBe('');
    const id = put.stdout.trim();
    expect(id).toMatch(UUID);

    const out = join(dir, 'big.out');
    const get = await runCli(['get', id, '-o', out, '--node', node.url]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stderr).toBe('');
    expect(get.stdout).toBe('');
    const back = await readFile(out);
    expect(back.length).toBe(body.length);
    expect(back.equals(body)).toBe(true);
    // nothing left behind but the file itself
    expect((await readdir(dir)).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('stores under --id and writes to stdout without -o; NODE_URL stands in for --node', async () => {
    const id = randomUUID();
    const file = join(dir, 'small.txt');
    await writeFile(file, 'hello, client');
    const put = await runCli(['put', file, '--id', id], { env: { NODE_URL: node.url } });
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout.trim()).toBe(id);
    const res = await fetch(`${node.url}/blobs/${id}`);
    expect(await res.text()).toBe('hello, client');
    expect(res.headers.get('etag')).toBe(`"${createHash('sha256').update('hello, client').digest('hex')}"`);
    const get = await runCli(['get', id], { env: { NODE_URL: node.url } });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe('hello, client');
  });
});

describe('rm and not found', () => {
  it('rm then get exits 2 with one line, and leaves no output file', async () => {
    const id = randomUUID();
    expect((await fetch(`${node.url}/blobs/${id}`, { method: 'PUT', body: 'short-lived' })).status).toBe(201);
    const rm = await runCli(['rm', id, '--node', node.url]);
    expect(rm.code, rm.stderr).toBe(0);
    const out = join(dir, 'gone.out');
    const get = await runCli(['get', id, '-o', out, '--node', node.url]);
    expect(get.code).toBe(2);
    const line = oneLine(get.stderr);
    expect(line).toMatch(/^gossip-cdn: error: GET http:\/\/\S+: 404 CDN_ERR_NOT_FOUND /);
    expect((await readdir(dir)).filter((f) => f.startsWith('gone.out') || f.startsWith('.gone.out'))).toEqual([]);
  });

  it('a malformed GUID is one line and a non-zero exit', async () => {
    const get = await runCli(['get', 'not-a-guid', '--node', node.url]);
    expect(get.code).toBe(1);
    expect(oneLine(get.stderr)).toMatch(/400 CDN_ERR_BAD_GUID/);
    const put = await runCli(['put', join(dir, 'small.txt'), '--id', 'nope', '--node', node.url]);
    expect(put.code).toBe(1);
    expect(oneLine(put.stderr)).toMatch(/CDN_ERR_BAD_GUID/);
  });

  it('get -o into a directory that does not exist is one line and exit 1', async () => {
    const r = await runCli(['get', randomUUID(), '-o', join(dir, 'no-such-dir', 'x'), '--node', node.url]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/cannot write .*no-such-dir.* is not a directory/);
  });

  it('a missing file is one line and exit 1', async () => {
    const put = await runCli(['put', join(dir, 'does-not-exist'), '--node', node.url]);
    expect(put.code).toBe(1);
    expect(oneLine(put.stderr)).toMatch(/cannot read .*does-not-exist/);
  });
});

describe('verification', () => {
  it('a body that does not match its ETag fails with one line and leaves no file', async () => {
    // A real HTTP server that answers like a node but with a wrong ETag (a corrupting proxy).
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '5', ETag: `"${'0'.repeat(64)}"` });
      res.end('bytes');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const out = join(dir, 'corrupt.out');
      const r = await runCli(['get', randomUUID(), '-o', out, '--node', `http://127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toMatch(/does not match the ETag/);
      expect((await readdir(dir)).filter((f) => f.includes('corrupt.out'))).toEqual([]);
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});

describe('progress', () => {
  it('draws a bar with rate and ETA on a terminal for a transfer that takes a while', async () => {
    // A real HTTP server that sends a correct 2 MiB body slowly (about 1.5 s), and `script`
    // (util-linux) to give the CLI a pseudo-terminal.
    const body = randomBytes(2 * 1024 * 1024);
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`;
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length), ETag: etag });
      let offset = 0;
      const step = body.length / 16;
      const timer = setInterval(() => {
        res.write(body.subarray(offset, offset + step));
        offset += step;
        if (offset >= body.length) { clearInterval(timer); res.end(); }
      }, 100);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const out = join(dir, 'slow.out');
      const cmd = [process.execPath, CLI, 'get', randomUUID(), '-o', out, '--node', `http://127.0.0.1:${port}`].map((a) => `'${a}'`).join(' ');
      const { stdout } = await promisify(execFile)('script', ['-qec', cmd, '/dev/null'], { timeout: 30_000 });
      expect(stdout).toMatch(/get .*100% \| 2(\.0)?MB\/2(\.0)?MB \| [\d.]+[KM]?B\/s \| ETA/);
      expect((await readFile(out)).equals(body)).toBe(true);
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});

describe('status', () => {
  it('prints the node id, address and blob counts; --json is the raw /cluster document', async () => {
    const view = await (await fetch(`${node.url}/cluster`)).json() as { id: string; address: string };
    const table = await runCli(['status', '--node', node.url]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(view.id);
    expect(table.stdout).toContain(view.address);
    expect(table.stdout).toMatch(/blobs\s+\d+ live keys/);
    const json = await runCli(['status', '--json', '--node', node.url]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { id: string }).id).toBe(view.id);
  });
});

describe('an unreachable node', () => {
  it('nothing listening: exit 3, one line', async () => {
    const port = await freePort();
    const r = await runCli(['status', '--node', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(3);
    expect(oneLine(r.stderr)).toMatch(/^gossip-cdn: error: GET http:\/\/127\.0\.0\.1:\d+\/cluster: cannot reach the node/);
  });

  it('a node that accepts but never answers: the headers timeout ends it with exit 3', async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => { sockets.push(s); });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const started = Date.now();
      const r = await runCli(['get', randomUUID(), '--timeout', '1', '--node', `http://127.0.0.1:${port}`]);
      expect(r.code).toBe(3);
      expect(oneLine(r.stderr)).toMatch(/cannot reach the node: .*UND_ERR_HEADERS_TIMEOUT/);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    }
  });

  it('a bad --node is one line and exit 1', async () => {
    const r = await runCli(['status', '--node', 'not a url']);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/--node \(NODE_URL\): not a URL/);
  });
});
