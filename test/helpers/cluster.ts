/**
 * A real cluster for integration tests: the Point (`gossip-cdn bootstrap`) on
 * real Redis and PostgreSQL, and node processes each on its own loopback
 * address (127.0.0.x), so bans by IP mean something. Gossip runs with the
 * local-test timing profile.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { request } from 'undici';
import { startCli, waitHealthy, type CliProcess } from './process.js';
import { freePort } from './net.js';
import { waitFor } from './wait.js';
import { tempDir, removeDir } from './node.js';
import { loadOrCreateIdentity } from '../../src/identity/keystore.js';
import { freshDatabase, postgresForTests, redisForTests, uniquePrefix, dropPrefix, type Service } from './services.js';

export interface ClusterPoint {
  url: string;
  proc: CliProcess;
  port: number;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface ClusterNode {
  index: number;
  host: string;
  port: number;
  url: string;
  dataDir: string;
  proc: CliProcess;
  id: string;
  args: string[];
  /** extra environment the process started with (kept across restarts) */
  env: NodeJS.ProcessEnv;
}

export interface PeerView {
  id: string;
  address: string;
  state: string;
  incarnation: number;
}

export interface Cluster {
  redis: Service;
  postgres: Service;
  point: ClusterPoint;
  nodes: ClusterNode[];
  addNode(index: number, extra?: string[], env?: NodeJS.ProcessEnv): Promise<ClusterNode>;
  restartNode(node: ClusterNode): Promise<ClusterNode>;
  restartPoint(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Each vitest worker takes its own /24 of loopback (127.0.<worker + 1>.x), so
 * files running at the same time never share an address: two workers once
 * drew the same 127.0.0.x and the same free port, the second node failed to
 * bind while the first answered for it, and died with the other file's
 * cluster. 127.0.0.x stays for the chaos harness and fixed addresses.
 */
const hostNet = `127.0.${(Number(process.env.VITEST_POOL_ID ?? 0) % 250) + 1}`;
let hostCounter = 10 + Math.floor(Math.random() * 100);

/** A loopback address no other test in this run uses. */
export function nextHost(): string {
  hostCounter = hostCounter >= 250 ? 10 : hostCounter + 1;
  return `${hostNet}.${hostCounter}`;
}

/**
 * Starts `gossip-cdn <args>` as the node serving `url` with `dataDir`, and
 * waits until it is healthy and is that node: the node answering at the
 * address must hold the key in its data dir (not another process there).
 */
export async function startOwnNode(args: string[], url: string, dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<{ proc: CliProcess; id: string }> {
  const proc = startCli(args, { env });
  // generous: the machine is shared, and a node's start-up includes replaying its log
  await waitHealthy(proc, `${url}/healthz`, 60_000).catch(async (err: unknown) => {
    await proc.kill9();
    throw err;
  });
  const view = (await (await request(`${url}/cluster`)).body.json()) as { id: string };
  const own = await loadOrCreateIdentity(dataDir);
  if (view.id !== own.id || proc.hasExited()) {
    await proc.kill9();
    throw new Error(`${url} answered as ${view.id}, not as the node started there (${own.id}); its output:\n${proc.output().slice(-2000)}`);
  }
  return { proc, id: view.id };
}

/** Removes a test cluster's data dirs, its database and Redis keys, and stops its private services. */
export async function releaseBackends(b: { dirs: string[]; db: { drop(): Promise<void> }; redis: Service; postgres: Service; prefix: string }): Promise<void> {
  for (const d of b.dirs) await removeDir(d);
  await b.db.drop().catch(() => undefined);
  if (!b.redis.private) await dropPrefix(b.redis.url, b.prefix).catch(() => undefined);
  await b.redis.close();
  await b.postgres.close();
}

export async function startCluster(size: number, options: { nodeArgs?: string[]; pointArgs?: string[]; privateServices?: boolean } = {}): Promise<Cluster> {
  const { startPrivateRedis, startPrivatePostgres } = await import('./services.js');
  const redis = options.privateServices === true ? await startPrivateRedis() : await redisForTests();
  const postgres = options.privateServices === true ? await startPrivatePostgres() : await postgresForTests();
  const db = await freshDatabase(postgres.url);
  const prefix = uniquePrefix();
  const pointPort = await freePort();
  const pointArgs = ['bootstrap', '--host', '127.0.0.1', '--port', String(pointPort), '--redis-url', redis.url, '--database-url', db.url,
    '--redis-prefix', prefix, '--heartbeat-ttl', '3', ...(options.pointArgs ?? [])];
  const point: ClusterPoint = { url: `http://127.0.0.1:${pointPort}`, port: pointPort, args: pointArgs, env: {}, proc: startCli(pointArgs) };
  const dirs: string[] = [];

  const launch = async (index: number, host: string, port: number, dataDir: string, extra: string[], env: NodeJS.ProcessEnv): Promise<ClusterNode> => {
    const args = ['node', '--host', host, '--port', String(port), '--data-dir', dataDir, '--bootstrap', point.url,
      '--gossip-profile', 'local-test', ...(options.nodeArgs ?? []), ...extra];
    const url = `http://${host}:${port}`;
    const { proc, id } = await startOwnNode(args, url, dataDir, env);
    return { index, host, port, url, dataDir, proc, id, args: extra, env };
  };

  const cluster: Cluster = {
    redis, postgres, point, nodes: [],
    async addNode(index, extra = [], env = {}) {
      const host = nextHost();
      const port = await freePort(host);
      const dataDir = await tempDir('gcdn-cluster-');
      dirs.push(dataDir);
      const node = await launch(index, host, port, dataDir, extra, env);
      cluster.nodes[index] = node;
      return node;
    },
    async restartNode(node) {
      const again = await launch(node.index, node.host, node.port, node.dataDir, node.args, node.env);
      cluster.nodes[node.index] = again;
      return again;
    },
    async restartPoint() {
      point.proc = startCli(pointArgs);
      await waitHealthy(point.proc, `${point.url}/healthz`);
    },
    async close() {
      await Promise.all(cluster.nodes.map((n) => n.proc.stop(5000)));
      await point.proc.stop(5000);
      await releaseBackends({ dirs, db, redis, postgres, prefix });
    },
  };
  // A cluster that fails to start stops what it started (a failed beforeAll never reaches close()).
  try {
    await waitHealthy(point.proc, `${point.url}/healthz`, 60_000);
    for (let i = 0; i < size; i++) await cluster.addNode(i);
  } catch (err) {
    await cluster.close().catch(() => undefined);
    throw err;
  }
  return cluster;
}

export async function clusterView(node: ClusterNode): Promise<{ id: string; peers: PeerView[]; blobs: { live: number; bodies: number } }> {
  const res = await request(`${node.url}/cluster`, { headersTimeout: 2000, bodyTimeout: 2000 });
  return (await res.body.json()) as { id: string; peers: PeerView[]; blobs: { live: number; bodies: number } };
}

/** Waits until every node sees every other node as alive. */
export async function waitMembership(nodes: ClusterNode[], timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => {
    for (const n of nodes) {
      const view = await clusterView(n);
      for (const other of nodes) {
        if (other.id === n.id) continue;
        if (view.peers.find((p) => p.id === other.id)?.state !== 'alive') return false;
      }
    }
    return true;
  }, { what: `${nodes.length} nodes to see each other alive`, timeoutMs, intervalMs: 200 });
}

export async function putBlob(node: Pick<ClusterNode, 'url'>, key: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${node.url}/blobs/${key}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...headers } });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown> };
}

export async function getBlob(node: Pick<ClusterNode, 'url'>, key: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Record<string, string | string[] | undefined> }> {
  const res = await request(`${node.url}/blobs/${key}`, { headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()), headers: res.headers };
}

export async function versionsOf(node: Pick<ClusterNode, 'url'>, key: string): Promise<{ status: number; json: { winner?: { etag: string; bodyHeld: boolean; tombstone: boolean }; siblings?: { etag: string }[]; deleted?: boolean } }> {
  const res = await request(`${node.url}/blobs/${key}/versions`);
  return { status: res.statusCode, json: (await res.body.json()) as { winner?: { etag: string; bodyHeld: boolean; tombstone: boolean } } };
}

/**
 * An authenticated cluster takes writes with a token only: an anonymous PUT
 * on node `a` is refused (401), one with `token` is taken (201), and node
 * `b` then serves exactly `text` under that key.
 */
export async function expectTokenWriteReplicates(a: string, b: string, token: string, text: string): Promise<void> {
  const key = randomUUID();
  expect((await fetch(`${a}/blobs/${key}`, { method: 'PUT', body: 'anonymous' })).status).toBe(401);
  expect((await fetch(`${a}/blobs/${key}`, { method: 'PUT', body: text, headers: { authorization: `Bearer ${token}` } })).status).toBe(201);
  const body = await waitFor(async () => {
    const res = await fetch(`${b}/blobs/${key}`);
    return res.status === 200 ? res.text() : undefined;
  }, { what: `the blob written on ${a} to be readable on ${b}`, timeoutMs: 60_000, intervalMs: 200 });
  expect(body).toBe(text);
}
