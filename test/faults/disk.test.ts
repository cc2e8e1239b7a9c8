/**
 * Disk faults against real node processes, real data dirs and real files
 * (issue 7): a flipped byte is never served and is repaired from a peer; a
 * metadata log truncated at random offsets is handled at start-up and the
 * rest refilled from peers; a really full disk (tmpfs) and the quota give
 * 507 and corrupt nothing; kill -9 at seeded points during 100 uploads never
 * exposes a partial body nor loses an acknowledged one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFile, readdir, truncate, rm, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startCluster, waitMembership, putBlob, versionsOf, clusterView, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { startNode, tempDir, removeDir, type TestNode } from '../helpers/node.js';
import { stopAll } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { SeededRandom, bodyPath, canMountTmpfs, flipByte, logFrames, mountTmpfs, seededBody, sha256, tmpFiles } from '../helpers/disk.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** One metric's value from a node's /metrics (0 when absent). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await request(`${url}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/**
 * A GET read to the end or until the connection is cut: status, every byte
 * received, and whether the body arrived whole (as long as Content-Length said).
 */
async function fetchAll(url: string): Promise<{ status: number; body: Buffer; complete: boolean; code?: string }> {
  const res = await request(url, { headersTimeout: 30_000, bodyTimeout: 30_000 });
  const parts: Buffer[] = [];
  let complete = true;
  try {
    for await (const c of res.body) parts.push(c as Buffer);
  } catch {
    complete = false;
  }
  const body = Buffer.concat(parts);
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && body.length !== declared) complete = false;
  const code = res.statusCode >= 400 ? (JSON.parse(body.toString()) as { error: { code: string } }).error.code : undefined;
  return { status: res.statusCode, body, complete, ...(code === undefined ? {} : { code }) };
}

/** What every read must be: the exact bytes, an error, or a cut stream whose bytes so far are a true prefix. */
function expectNeverWrong(r: { status: number; body: Buffer; complete: boolean }, original: Buffer): void {
  if (r.status !== 200) return;
  if (r.complete) expect(sha256(r.body), 'a complete 200 must carry the exact original bytes').toBe(sha256(original));
  else expect(r.body.equals(original.subarray(0, r.body.length)), 'bytes before the cut must be the original ones').toBe(true);
}

async function heldBy(node: ClusterNode, key: string, body: Buffer): Promise<boolean> {
  const v = await versionsOf(node, key);
  return v.status === 200 && v.json.winner?.etag === `"${sha256(body)}"` && v.json.winner.bodyHeld;
}

describe('disk faults in a cluster', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(3);
    await waitMembership(cluster.nodes);
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('a flipped byte in a stored body is detected, never served, and repaired from a peer', async () => {
    const [writer, victim] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    // One small body (one 256 KiB chunk, served from memory once read) and one
    // of 3 MiB (above the 2 MiB cache item limit: streamed chunk by chunk).
    const small = { key: randomUUID(), body: seededBody(100 * KiB, 11), offset: 54_321 };
    const large = { key: randomUUID(), body: seededBody(3 * MiB, 12), offset: 2_500_000 };
    for (const b of [small, large]) expect((await putBlob(writer, b.key, b.body)).status).toBe(201);
    await waitFor(async () => {
      for (const n of cluster.nodes) for (const b of [small, large]) if (!(await heldBy(n, b.key, b.body))) return false;
      return true;
    }, { what: 'both bodies on every node', timeoutMs: 60_000, intervalMs: 200 });

    // The victim received both from a peer and never served them to a client,
    // so its hot-body cache is empty: what it serves next comes from the disk.
    expect(await metric(victim.url, 'cdn_body_cache_bytes')).toBe(0);
    const corruptBefore = await metric(victim.url, 'cdn_store_corrupt_bodies_detected');
    for (const b of [small, large]) await flipByte(bodyPath(victim.dataDir, sha256(b.body)), b.offset);

    // Small: refused before any header (503). Large: the stream is cut before the bad chunk.
    const first = await fetchAll(`${victim.url}/blobs/${small.key}`);
    expect(first.status).toBe(503);
    expect(first.code).toBe('CDN_ERR_BODY_UNAVAILABLE');
    const firstLarge = await fetchAll(`${victim.url}/blobs/${large.key}`);
    expectNeverWrong(firstLarge, large.body);
    expect(firstLarge.complete, 'the corrupt large body must not arrive whole').toBe(false);
    if (firstLarge.status === 200) expect(firstLarge.body.length).toBeLessThan(large.offset);
    expect(await metric(victim.url, 'cdn_store_corrupt_bodies_detected')).toBe(corruptBefore + 2);

    // Repair: the node fetches both again from a peer (bounded polling); every
    // read meanwhile is right or refused, never wrong.
    for (const b of [small, large]) {
      await waitFor(async () => {
        const r = await fetchAll(`${victim.url}/blobs/${b.key}`);
        expectNeverWrong(r, b.body);
        return r.status === 200 && r.complete;
      }, { what: `the ${b.body.length}-byte body to be repaired from a peer`, timeoutMs: 60_000, intervalMs: 250 });
      expect(sha256(await readFile(bodyPath(victim.dataDir, sha256(b.body))))).toBe(sha256(b.body));
      expect(await heldBy(victim, b.key, b.body)).toBe(true);
    }
    const quarantined = await readdir(join(victim.dataDir, 'quarantine'));
    expect(quarantined.map((f) => f.split('.')[0]).sort()).toEqual([sha256(small.body), sha256(large.body)].sort());
    // It stays repaired across a restart: the log names the fetched copy.
    expect(await victim.proc.stop()).toBe(0);
    const again = await cluster.restartNode(victim);
    for (const b of [small, large]) {
      const r = await fetchAll(`${again.url}/blobs/${b.key}`);
      expect([r.status, r.complete, sha256(r.body)]).toEqual([200, true, sha256(b.body)]);
    }
    await waitMembership(cluster.nodes);
  });

  it('a metadata log truncated at random offsets: the node starts, serves what survived, refills the rest from peers', async () => {
    const random = new SeededRandom(7007);
    const nodes = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const blobs = Array.from({ length: 8 }, (_, i) => ({ key: randomUUID(), body: seededBody(i % 3 === 0 ? 300 * KiB : 2 * KiB + i * 997, 100 + i) }));
    // Written on every node, the victim included, so its own writes must come back too.
    for (const [i, b] of blobs.entries()) expect((await putBlob(nodes[i % 3] as ClusterNode, b.key, b.body)).status).toBe(201);
    await waitFor(async () => {
      for (const n of nodes) for (const b of blobs) if (!(await heldBy(n, b.key, b.body))) return false;
      return true;
    }, { what: 'every blob on every node', timeoutMs: 60_000, intervalMs: 200 });

    for (let round = 0; round < 3; round++) {
      const victim = cluster.nodes[2] as ClusterNode;
      expect(await victim.proc.stop()).toBe(0);
      const logPath = join(victim.dataDir, 'meta.log');
      const frames = await logFrames(logPath);
      const size = frames.at(-1)?.end ?? 0;
      const cut = random.int(size);
      await truncate(logPath, cut);
      // What survived the cut: records wholly before it (the replay's own rule).
      const kept = frames.filter((f) => f.end <= cut).map((f) => f.record);
      const keyKnown = new Set<string>();
      const bodyKnown = new Set<string>();
      for (const r of kept) {
        if (r.t === 'k' && r.key !== undefined) keyKnown.add(r.key);
        if (r.t === 'b' && r.sha !== undefined) bodyKnown.add(r.sha);
        if (r.t === 'x' && r.sha !== undefined) bodyKnown.delete(r.sha);
      }

      // Alone (no peers to mask anything): exactly what survived is served, whole.
      const alone = await startNode({ dataDir: victim.dataDir, host: victim.host, port: victim.port });
      for (const b of blobs) {
        const r = await fetchAll(`${alone.url}/blobs/${b.key}`);
        const expected = !keyKnown.has(b.key) ? 404 : bodyKnown.has(sha256(b.body)) ? 200 : 503;
        expect(r.status, `round ${round}, cut at ${cut} of ${size}`).toBe(expected);
        expectNeverWrong(r, b.body);
        if (expected === 200) expect(r.complete).toBe(true);
      }
      expect(await tmpFiles(alone.dataDir)).toEqual([]);
      expect(await alone.proc.stop()).toBe(0);

      // Back in the cluster: the rest comes from peers, without a client asking.
      const back = await cluster.restartNode(victim);
      await waitFor(async () => {
        const view = await clusterView(back);
        return view.blobs.live >= blobs.length && (await Promise.all(blobs.map((b) => heldBy(back, b.key, b.body)))).every(Boolean);
      }, { what: `round ${round}: the truncated node to refill every blob from peers`, timeoutMs: 90_000, intervalMs: 300 });
      for (const b of blobs) {
        const r = await fetchAll(`${back.url}/blobs/${b.key}`);
        expect([r.status, r.complete, sha256(r.body)]).toEqual([200, true, sha256(b.body)]);
      }
    }
    await waitMembership(cluster.nodes);
  });
});

const mountable = await canMountTmpfs();

describe('a full disk', () => {
  it.skipIf(!mountable)('a real ENOSPC (tmpfs) gives 507, corrupts nothing, leaves no temp file, and writes work again once space is freed (needs root to mount a tmpfs)', async () => {
    const fs = await mountTmpfs(8 * MiB);
    let node: TestNode | undefined;
    try {
      node = await startNode({ dataDir: fs.dir });
      const kept = Array.from({ length: 3 }, (_, i) => ({ key: randomUUID(), body: seededBody(700 * KiB + i * 1000, 200 + i) }));
      for (const b of kept) expect((await putBlob(node, b.key, b.body)).status).toBe(201);
      // Fill what is left with a plain file until the file system says no.
      const filler = join(fs.dir, 'filler');
      const fh = await open(filler, 'w');
      try {
        for (let i = 0; i < 64; i++) await fh.write(Buffer.alloc(256 * KiB, 1));
        throw new Error('the 8 MiB tmpfs did not fill up');
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        await fh.close();
      }

      for (const size of [1 * MiB, 10 * KiB, 1]) {
        const key = randomUUID();
        const r = await putBlob(node, key, seededBody(size, size));
        expect(r.status, JSON.stringify(r.json)).toBe(507);
        expect((r.json as { error: { code: string } }).error.code).toBe('CDN_ERR_STORAGE_QUOTA');
        expect((await fetchAll(`${node.url}/blobs/${key}`)).status).toBe(404);
        expect(await tmpFiles(node.dataDir)).toEqual([]);
      }
      for (const b of kept) {
        const r = await fetchAll(`${node.url}/blobs/${b.key}`);
        expect([r.status, sha256(r.body)]).toEqual([200, sha256(b.body)]);
      }

      await rm(filler);
      const later = { key: randomUUID(), body: seededBody(1 * MiB, 300) };
      expect((await putBlob(node, later.key, later.body)).status).toBe(201);
      // Everything is intact after a restart too: no torn log record, no half body.
      expect(await node.proc.stop()).toBe(0);
      node = await startNode({ dataDir: fs.dir, port: node.port });
      for (const b of [...kept, later]) {
        const r = await fetchAll(`${node.url}/blobs/${b.key}`);
        expect([r.status, sha256(r.body)]).toEqual([200, sha256(b.body)]);
      }
      expect((await readdir(fs.dir)).filter((f) => f.startsWith('meta.log.damaged'))).toEqual([]);
    } finally {
      await node?.proc.stop();
      await stopAll();
      await fs.unmount();
    }
  });

  it('the quota (--quota) gives 507 to uploads racing for the last space, and corrupts nothing', async () => {
    const dataDir = await tempDir();
    try {
      const node = await startNode({ dataDir, args: ['--quota', String(2 * MiB)] });
      const first = { key: randomUUID(), body: seededBody(1200 * KiB, 400) };
      expect((await putBlob(node, first.key, first.body)).status).toBe(201);
      // Three uploads of 500 KiB race for the ~850 KiB left: at most one fits.
      const racers = Array.from({ length: 3 }, (_, i) => ({ key: randomUUID(), body: seededBody(500 * KiB, 410 + i) }));
      const answers = await Promise.all(racers.map((b) => putBlob(node, b.key, b.body)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 201).length).toBeLessThanOrEqual(1);
      expect(statuses.filter((s) => s === 507).length).toBeGreaterThanOrEqual(2);
      for (const [i, a] of answers.entries()) {
        const r = await fetchAll(`${node.url}/blobs/${racers[i]?.key ?? ''}`);
        if (a.status === 507) {
          expect((a.json as { error: { code: string } }).error.code).toBe('CDN_ERR_STORAGE_QUOTA');
          expect(r.status).toBe(404);
        } else {
          expect([r.status, sha256(r.body)]).toEqual([200, sha256(racers[i]?.body ?? Buffer.alloc(0))]);
        }
      }
      const r = await fetchAll(`${node.url}/blobs/${first.key}`);
      expect([r.status, sha256(r.body)]).toEqual([200, sha256(first.body)]);
      expect(await tmpFiles(dataDir)).toEqual([]);
      await node.proc.stop();
    } finally {
      await stopAll();
      await removeDir(dataDir);
    }
  });
});

describe('kill -9 during uploads', () => {
  it('at seeded points during 100 uploads never exposes a partial body and never loses an acknowledged one', async () => {
    const random = new SeededRandom(0x5eed);
    const dataDir = await tempDir();
    const uploads = Array.from({ length: 100 }, (_, i) => {
      const pick = random.next();
      // Empty, tiny, one chunk, several chunks: the write path's every shape.
      const size = pick < 0.05 ? 0 : pick < 0.4 ? 1 + random.int(4 * KiB) : pick < 0.75 ? 4 * KiB + random.int(256 * KiB) : 256 * KiB + random.int(1536 * KiB);
      return { key: randomUUID(), size, seed: 1000 + i };
    });
    const bodyOf = (u: { size: number; seed: number }): Buffer => seededBody(u.size, u.seed);
    const acked = new Set<string>();
    const attempted = new Set<string>();
    const kills = 6;
    let next = 0;
    let port: number | undefined;

    /** After a (re)start: every attempted key is absent or whole; every acknowledged one whole. */
    const check = async (node: TestNode, when: string): Promise<void> => {
      expect(await tmpFiles(dataDir), `${when}: tmp/ is wiped at start`).toEqual([]);
      for (const u of uploads) {
        if (!attempted.has(u.key)) continue;
        const r = await fetchAll(`${node.url}/blobs/${u.key}`);
        if (acked.has(u.key)) expect([r.status, r.complete], `${when}: acknowledged ${u.key} (${u.size} bytes)`).toEqual([200, true]);
        else expect([200, 404], `${when}: ${u.key}`).toContain(r.status);
        if (r.status === 200) expect(sha256(r.body), `${when}: ${u.key} is whole`).toBe(sha256(bodyOf(u)));
      }
    };

    try {
      for (let segment = 0; segment <= kills && next < uploads.length; segment++) {
        const node = await startNode({ dataDir, ...(port === undefined ? {} : { port }) });
        port = node.port;
        await check(node, `start ${segment}`);
        if (segment === kills) {
          // The last stretch runs to the end without a kill.
          while (next < uploads.length) {
            const u = uploads[next++] as (typeof uploads)[number];
            attempted.add(u.key);
            expect((await putBlob(node, u.key, bodyOf(u))).status).toBe(201);
            acked.add(u.key);
          }
          await check(node, 'the end');
          await node.proc.stop();
          break;
        }
        // Kill after a seeded number of body bytes has been handed to the sockets.
        const budget = 64 * KiB + random.int(6 * MiB);
        let sent = 0;
        let killed = false;
        const kill = (): void => {
          if (killed) return;
          killed = true;
          process.kill(node.proc.pid, 'SIGKILL');
        };
        const streamOf = (body: Buffer): Readable => {
          let offset = 0;
          return new Readable({
            read() {
              if (killed) { this.destroy(new Error('killed')); return; }
              if (offset >= body.length) { this.push(null); return; }
              const piece = body.subarray(offset, offset + 32 * KiB);
              offset += piece.length;
              sent += piece.length;
              this.push(piece);
              if (sent >= budget) kill();
            },
          });
        };
        // Three uploads at a time, so a kill lands on uploads in different phases.
        const worker = async (): Promise<void> => {
          while (!killed && next < uploads.length) {
            const u = uploads[next++] as (typeof uploads)[number];
            attempted.add(u.key);
            const res = await request(`${node.url}/blobs/${u.key}`, { method: 'PUT', body: streamOf(bodyOf(u)), headers: { 'content-type': 'application/octet-stream', 'content-length': String(u.size) } })
              .then(async (r) => { await r.body.dump(); return r.statusCode; }, () => 0);
            if (res === 201) acked.add(u.key);
            else expect(killed, `upload ${u.key} failed (${res}) with no kill`).toBe(true);
          }
        };
        await Promise.all([worker(), worker(), worker()]);
        kill();
        await node.proc.kill9();
      }
      expect(acked.size).toBeGreaterThan(50);
      expect(attempted.size).toBe(uploads.length);
    } finally {
      await stopAll();
      await removeDir(dataDir);
    }
  });
});
