/**
 * The bare `node:http` baseline: what a minimal Node server does for the
 * same requests, with none of the node's semantics (no versions, no
 * checksums, no metrics, no cache).
 *
 *   GET  /blobs/{guid}  open + fstat, Content-Length, fs.createReadStream piped to the response
 *   PUT  /blobs/{guid}  body to a temp file, fdatasync, rename into place, fsync the directory
 *                       (the same durability as the node's body write)
 *
 * With --mem, GET bodies are kept in RAM after their first read (up to
 * 512 MiB) and sent with res.end(buffer): the ceiling of node:http itself.
 *
 * Usage: node bench/http/bare-server.mjs --port P --root DIR [--mem]   (listens on 127.0.0.1 only)
 */
import { createServer } from 'node:http';
import { close, createReadStream, createWriteStream, fdatasync, fstat, fsync, mkdirSync, open, readFile, rename, unlink } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { parseArgs } from 'node:util';
import process from 'node:process';

const { values } = parseArgs({ options: { port: { type: 'string' }, root: { type: 'string' }, mem: { type: 'boolean', default: false } } });
if (values.port === undefined || values.root === undefined) {
  process.stderr.write('usage: node bench/http/bare-server.mjs --port P --root DIR\n');
  process.exit(2);
}
const blobsDir = join(values.root, 'blobs');
const tmpDir = join(values.root, 'tmp');
mkdirSync(blobsDir, { recursive: true });
mkdirSync(tmpDir, { recursive: true });

const GUID = /^\/blobs\/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function answer(res, status, text) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

const memory = new Map();
let memoryBytes = 0;
const MEMORY_MAX = 512 * 1024 * 1024;

function sendBuffer(req, res, body) {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function handleGetMem(req, res, path) {
  const hit = memory.get(path);
  if (hit !== undefined) { sendBuffer(req, res, hit); return; }
  readFile(path, (err, body) => {
    if (err) { answer(res, err.code === 'ENOENT' ? 404 : 500, err.code ?? 'error'); return; }
    if (memoryBytes + body.length <= MEMORY_MAX) { memory.set(path, body); memoryBytes += body.length; }
    sendBuffer(req, res, body);
  });
}

function handleGet(req, res, path) {
  if (values.mem) { handleGetMem(req, res, path); return; }
  open(path, 'r', (err, fd) => {
    if (err) { answer(res, err.code === 'ENOENT' ? 404 : 500, err.code ?? 'error'); return; }
    fstat(fd, (err2, st) => {
      if (err2) { close(fd, () => undefined); answer(res, 500, 'fstat'); return; }
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', st.size);
      if (req.method === 'HEAD' || st.size === 0) { close(fd, () => undefined); res.end(); return; }
      pipeline(createReadStream('', { fd, autoClose: true }), res, () => undefined);
    });
  });
}

function handlePut(req, res, path) {
  const tmp = join(tmpDir, `${randomUUID()}.part`);
  open(tmp, 'w', 0o644, (err, fd) => {
    if (err) { req.resume(); answer(res, 500, 'open'); return; }
    const fail = (status, what) => {
      close(fd, () => unlink(tmp, () => answer(res, status, what)));
    };
    pipeline(req, createWriteStream('', { fd, autoClose: false }), (err2) => {
      if (err2) { fail(400, 'upload'); return; }
      fdatasync(fd, (err3) => {
        if (err3) { fail(500, 'fdatasync'); return; }
        close(fd, (err4) => {
          if (err4) { answer(res, 500, 'close'); return; }
          rename(tmp, path, (err5) => {
            if (err5) { answer(res, 500, 'rename'); return; }
            const stale = memory.get(path);
            if (stale !== undefined) { memory.delete(path); memoryBytes -= stale.length; }
            open(blobsDir, 'r', (err6, dfd) => {
              if (err6) { answer(res, 500, 'open dir'); return; }
              fsync(dfd, () => close(dfd, () => {
                const body = '{"stored":true}';
                res.statusCode = 201;
                res.setHeader('Content-Type', 'application/json');
                res.setHeader('Content-Length', Buffer.byteLength(body));
                res.end(body);
              }));
            });
          });
        });
      });
    });
  });
}

const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  const url = req.url ?? '/';
  if (!GUID.test(url)) { answer(res, url === '/' ? 200 : 404, url === '/' ? 'bare node:http baseline' : 'not found'); return; }
  const path = join(blobsDir, url.slice(7).toLowerCase());
  if (req.method === 'GET' || req.method === 'HEAD') handleGet(req, res, path);
  else if (req.method === 'PUT') handlePut(req, res, path);
  else { res.setHeader('Allow', 'GET, HEAD, PUT'); answer(res, 405, 'method not allowed'); }
});

server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`bare node:http baseline listening on http://127.0.0.1:${values.port}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
