/**
 * Hostile HTTP clients against a real node and a real Point (on real Redis
 * and PostgreSQL), over raw sockets: path traversal, oversized headers,
 * request smuggling, slowloris and a connection flood. Each attack must get
 * a clean refusal, touch nothing outside the data dir, and have a bounded
 * effect: a normal client keeps being served and the server's open
 * connections come back down. Timing never decides pass/fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Socket } from 'node:net';
import { request } from 'undici';
import { startCluster, putBlob, getBlob, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { openSocket, rawErrorCode, rawRequest } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait.js';
import { startTestPoint } from '../integration/point/harness.js';

const HEADERS_TIMEOUT_MS = 1500;
const MAX_CONNECTIONS = 1500;
/** The second node's cap, with a headers timeout long enough that its flood is not reaped while it is measured. */
const SMALL_CAP = 50;

let cluster: Cluster;
let node: ClusterNode;
let capped: ClusterNode;
let point: { host: string; port: number };
/** A file beside the node's data dir: traversal that escapes the dir would reach it. */
let canary: { path: string; text: string; mtimeMs: number };
let outsideDir: string;

beforeAll(async () => {
  cluster = await startCluster(0);
  node = await cluster.addNode(0, ['--headers-timeout', String(HEADERS_TIMEOUT_MS), '--max-connections', String(MAX_CONNECTIONS)]);
  capped = await cluster.addNode(1, ['--headers-timeout', '60000', '--max-connections', String(SMALL_CAP)]);
  point = { host: '127.0.0.1', port: cluster.point.port };
  outsideDir = await mkdtemp(join(tmpdir(), 'gcdn-canary-'));
  const text = `canary ${randomUUID()}`;
  const path = join(outsideDir, 'secret.txt');
  await writeFile(path, text);
  // Also one right beside the data dir, reachable as ../canary from it.
  await writeFile(join(dirname(node.dataDir), `canary-${randomUUID()}`), text);
  canary = { path, text, mtimeMs: (await stat(path)).mtimeMs };
}, 120_000);

afterAll(async () => {
  expect(node.proc.hasExited(), `the node died:\n${node.proc.output()}`).toBe(false);
  await cluster?.close();
  await rm(outsideDir, { recursive: true, force: true });
});

/** A client doing ordinary work: a PUT then a GET of the same bytes. */
async function normalClientWorks(): Promise<boolean> {
  const key = randomUUID();
  const body = `ordinary ${key}`;
  const put = await putBlob(node, key, body);
  const got = await getBlob(node, key);
  return put.status === 201 && got.status === 200 && got.body.toString() === body;
}

async function openConnections(target: ClusterNode = node): Promise<number> {
  const text = await (await request(`${target.url}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith('cdn_http_connections{state="open"}'));
  return Number(line?.split(' ')[1] ?? NaN);
}

async function droppedConnections(target: ClusterNode = node): Promise<number> {
  const text = await (await request(`${target.url}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith('cdn_http_connections_dropped_total'));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('path traversal', () => {
  it('in keys and every path-taking parameter, on the node and the Point: 4xx JSON, nothing outside the data dir read or touched', async () => {
    const identity = await readFile(join(node.dataDir, 'identity.json'), 'utf8');
    const secretOf = (json: string): string => Object.values(JSON.parse(json) as Record<string, string>).sort((a, b) => b.length - a.length)[0] ?? '';
    const privateKey = secretOf(identity);
    const dataBefore = (await readdir(node.dataDir)).sort();
    const canaryName = (await readdir(dirname(node.dataDir))).find((f) => f.startsWith('canary-')) ?? 'canary';
    const escapes = [
      '../../../../etc/passwd', `../${canaryName}`, '..%2f..%2f..%2fetc%2fpasswd', '%2e%2e%2f%2e%2e%2fidentity.json', '%2e%2e/%2e%2e/meta.log',
      '..%5c..%5cmeta.log', '%252e%252e%252fidentity.json', '..%c0%af..%c0%afidentity.json', `....//....//${canaryName}`,
      `${'..%2f'.repeat(12)}${outsideDir.slice(1)}/secret.txt`, '%00../identity.json', '../identity.json%00',
    ];
    const nodePaths = [
      ...escapes.flatMap((e) => [`/blobs/${e}`, `/blobs/${e}/versions`, `/blobs/${randomUUID()}/${e}`, `/gossip/bodies/${e}`, `/gossip/keys/${e}`, `/${e}`]),
      `/blobs?cursor=${Buffer.from('../../identity.json').toString('base64url')}`, '/blobs?cursor=..%2f..%2fidentity.json', '/openapi.json/../identity.json',
      '//etc/passwd', '/blobs/..', '/blobs/.', '/./identity.json',
    ];
    for (const method of ['GET', 'PUT', 'DELETE']) {
      for (const path of nodePaths) {
        const r = await rawRequest(node.host, node.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi`);
        const status = r.statuses[0];
        expect([400, 401, 404, 405], `${method} ${path}: ${r.text.slice(0, 200)}`).toContain(status);
        expect(rawErrorCode(r.text), `${method} ${path} answers the JSON error shape`).toMatch(/^(CDN|GOSSIP)_ERR_/);
        expect(r.text).not.toContain(canary.text);
        if (privateKey.length > 0) expect(r.text).not.toContain(privateKey);
        expect(r.text).not.toContain('root:');
      }
    }
    const pointPaths = [
      ...escapes.flatMap((e) => [`/${e}`, `/look/${e}`, `/check?key=${e}&target=${e}`, `/look?key=${e}&numnodes=1`, `/points?key=${e}`]),
      '/openapi.json/../../etc/passwd',
    ];
    for (const path of pointPaths) {
      const r = await rawRequest(point.host, point.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect([400, 401, 404, 405], `Point GET ${path}: ${r.text.slice(0, 200)}`).toContain(r.statuses[0]);
      expect(rawErrorCode(r.text)).toMatch(/^POINT_ERR_/);
      expect(r.text).not.toContain(canary.text);
      expect(r.text).not.toContain('root:');
    }
    // Report bodies naming paths instead of addresses are refused, not used.
    for (const ip of ['../../etc/passwd', '127.0.0.1/../../x', '%2e%2e']) {
      const r = await rawRequest(point.host, point.port, `POST /ban HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${JSON.stringify({ key: 'k', ip, reason: 'x' }).length}\r\n\r\n${JSON.stringify({ key: 'k', ip, reason: 'x' })}`);
      expect([400, 401], r.text).toContain(r.statuses[0]);
    }
    // Nothing outside the data dir changed; nothing inside it appeared.
    expect(await readFile(canary.path, 'utf8')).toBe(canary.text);
    expect((await stat(canary.path)).mtimeMs).toBe(canary.mtimeMs);
    expect((await readdir(outsideDir))).toEqual(['secret.txt']);
    expect((await readdir(node.dataDir)).filter((f) => !dataBefore.includes(f) && f !== 'peers.json')).toEqual([]);
    expect(await readFile(join(node.dataDir, 'identity.json'), 'utf8')).toBe(identity);
  });
});

describe('oversized headers and request smuggling', () => {
  it('oversized headers get 431 and the connection is closed, on the node and the Point', async () => {
    const big = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
    const many = `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`;
    for (const bytes of [big, many]) {
      const r = await rawRequest(node.host, node.port, bytes);
      expect(r.statuses).toEqual([431]);
      expect(r.closedByServer).toBe(true);
      // The Point closes the connection without an answer (its clientError handler), never serves it.
      const p = await rawRequest(point.host, point.port, bytes);
      expect(p.closedByServer).toBe(true);
      expect(p.statuses.every((s) => s === 431 || s === 400)).toBe(true);
    }
    expect(await normalClientWorks()).toBe(true);
  });

  it('CL+TE, duplicate or malformed Content-Length and obfuscated Transfer-Encoding get 400, close, and the smuggled request is never run', async () => {
    const smuggled = randomUUID();
    const inner = `PUT /blobs/${smuggled} HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nsmuggled`;
    const shapes: Record<string, string> = {
      'CL then TE': `POST /blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${inner}`,
      'TE then CL': `POST /blobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 200\r\n\r\n0\r\n\r\n${inner}`,
      'duplicate CL': `POST /blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\n${inner}`,
      'CL list': `POST /blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 5\r\n\r\n${inner}`,
      'CL with sign': `POST /blobs HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n${inner}`,
      'TE xchunked': `POST /blobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${inner}`,
      'TE space before colon': `POST /blobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${inner}`,
      'TE chunked then identity': `POST /blobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${inner}`,
      'TE line folding': `POST /blobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${inner}`,
      'bare LF': `POST /blobs HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nContent-Length: 3\n\n0\n\n${inner}`,
      'bad chunk size': `POST /blobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n${inner}`,
    };
    for (const [name, bytes] of Object.entries(shapes)) {
      const r = await rawRequest(node.host, node.port, bytes);
      expect(r.statuses, `node, ${name}: ${r.text.slice(0, 200)}`).toEqual([400]);
      expect(r.closedByServer, `node, ${name}: connection closed`).toBe(true);
      const p = await rawRequest(point.host, point.port, bytes.replace('POST /blobs', 'POST /reg').replace(`PUT /blobs/${smuggled}`, 'POST /heartbeat'));
      expect(p.closedByServer, `Point, ${name}: connection closed`).toBe(true);
      expect(p.statuses.every((s) => s === 400), `Point, ${name}: ${p.text.slice(0, 200)}`).toBe(true);
    }
    expect((await getBlob(node, smuggled)).status).toBe(404);
    expect(await normalClientWorks()).toBe(true);
  });
});

describe('slowloris and connection floods', () => {
  it('slowloris: many connections trickling headers are cut at the headers timeout while a normal client is served', async () => {
    const baseline = await openConnections();
    const count = 200;
    const cutByServer = new Set<Socket>();
    const sockets = await Promise.all(Array.from({ length: count }, () => openSocket(node.host, node.port, (s) => cutByServer.add(s))));
    for (const s of sockets) s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: `);
    // Each trickles one header byte every 100 ms, for at most 60 s (far past the timeout).
    const trickle = setInterval(() => { for (const s of sockets) if (!s.destroyed) s.write('a'); }, 100);
    try {
      await waitFor(async () => await openConnections() >= baseline + count / 2, { what: 'the slow connections to be open', timeoutMs: 20_000 });
      // While they trickle, ordinary work goes on.
      expect(await normalClientWorks()).toBe(true);
      await waitFor(() => sockets.every((x) => cutByServer.has(x)), { what: `the server to cut all ${count} trickling connections`, timeoutMs: 60_000, intervalMs: 100 });
      await waitFor(async () => await openConnections() <= baseline + 2, { what: 'open connections back to normal', timeoutMs: 30_000, intervalMs: 200 });
      expect(await normalClientWorks()).toBe(true);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
  });

  /** Opens `n` idle connections to `target` (100 at a time); `closed` learns of each one the server closes. */
  async function flood(target: ClusterNode, n: number): Promise<{ sockets: Socket[]; closed: Set<Socket> }> {
    const sockets: Socket[] = [];
    const closed = new Set<Socket>();
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(100, n - i) }, () => openSocket(target.host, target.port, (s) => closed.add(s))));
      for (const b of batch) if (b.status === 'fulfilled') sockets.push(b.value);
    }
    return { sockets, closed };
  }

  it('a flood of 2,000 idle connections under the cap: a normal client is served during it, and the server reaps them all', async () => {
    const baseline = await openConnections();
    const attack = await flood(node, 2000);
    try {
      expect(await normalClientWorks()).toBe(true);
      await waitFor(() => attack.sockets.every((x) => attack.closed.has(x)), { what: 'the server to reap 2,000 idle connections', timeoutMs: 90_000, intervalMs: 100 });
    } finally {
      for (const s of attack.sockets) s.destroy();
    }
    await waitFor(async () => await openConnections() <= baseline + 2, { what: 'open connections back to normal', timeoutMs: 30_000, intervalMs: 200 });
    expect(await normalClientWorks()).toBe(true);
  });

  it('a flood over --max-connections: no more than the cap are held, the excess is closed at once, and the node recovers', async () => {
    const baseline = await openConnections(capped);
    const droppedBefore = await droppedConnections(capped);
    const attack = await flood(capped, 4 * SMALL_CAP);
    try {
      // Its headers timeout is a minute: whatever closes now was refused at the cap.
      await waitFor(() => attack.closed.size >= attack.sockets.length - SMALL_CAP, { what: 'connections over the cap to be closed', timeoutMs: 30_000, intervalMs: 100 });
      expect(attack.sockets.filter((x) => !attack.closed.has(x)).length).toBeLessThanOrEqual(SMALL_CAP);
    } finally {
      for (const s of attack.sockets) s.destroy();
    }
    // Once the attacker lets go, the node serves again and its books agree.
    await waitFor(async () => await openConnections(capped) <= baseline + 2, { what: 'open connections back to normal after the flood', timeoutMs: 30_000, intervalMs: 200 });
    expect(await droppedConnections(capped)).toBeGreaterThanOrEqual(droppedBefore + 3 * SMALL_CAP - baseline);
    const key = randomUUID();
    expect((await putBlob(capped, key, 'after the flood')).status).toBe(201);
    expect((await getBlob(capped, key)).body.toString()).toBe('after the flood');
  });

  it('the Point cuts silent and trickling connections at its headers timeout while it keeps answering', async () => {
    // The Point's server (startPoint, as the CLI runs it) in this process, on the cluster's Redis
    // and PostgreSQL, with a 2 s request timeout: its headers timeout is min(that, 10 s), checked
    // every quarter of it, so the connections are cut after ~2.5 s instead of the default ~12.5 s.
    const short = await startTestPoint(cluster.redis, cluster.postgres, { requestTimeoutMs: 2_000 });
    const target = { host: '127.0.0.1', port: short.point.port };
    const cut = new Set<Socket>();
    const silent = await Promise.all(Array.from({ length: 50 }, () => openSocket(target.host, target.port, (x) => cut.add(x))));
    const slow = await Promise.all(Array.from({ length: 50 }, () => openSocket(target.host, target.port, (x) => cut.add(x))));
    for (const x of slow) x.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const trickle = setInterval(() => { for (const x of slow) if (!x.destroyed) x.write('a'); }, 100);
    try {
      const health = await request(`http://${target.host}:${target.port}/healthz`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
      await health.body.dump();
      expect(health.statusCode).toBe(200);
      // node:http's default check, every 30 s, would take past this bound
      await waitFor(() => [...silent, ...slow].every((x) => cut.has(x)), { what: 'the Point to cut all 100 connections', timeoutMs: 30_000, intervalMs: 100 });
    } finally {
      clearInterval(trickle);
      for (const x of [...silent, ...slow]) x.destroy();
      await short.close();
    }
  });
});
