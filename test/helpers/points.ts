/**
 * Several Points serving one cluster, for integration tests: each a real
 * `gossip-cdn bootstrap` process on the same Redis (one key prefix) and the
 * same PostgreSQL database, each naming the others with --peer-points, so
 * they share one registry and one banlist. Nodes are real processes on
 * their own loopback addresses (nextHost), started with whatever --bootstrap
 * list the test gives them.
 */
import { request } from 'undici';
import { startCli, waitHealthy } from './process.js';
import { freePort } from './net.js';
import { tempDir } from './node.js';
import { nextHost, releaseBackends, startOwnNode, type ClusterNode, type ClusterPoint } from './cluster.js';
import { freshDatabase, postgresForTests, redisForTests, uniquePrefix, type Service } from './services.js';

export interface PointsCluster {
  redis: Service;
  postgres: Service;
  points: ClusterPoint[];
  nodes: ClusterNode[];
  /** a node started with `--bootstrap <bootstrap>` (one URL or a comma-separated list) */
  addNode(bootstrap: string, extra?: string[]): Promise<ClusterNode>;
  close(): Promise<void>;
}

/** What a node's /cluster says about its Point. */
export interface PointView {
  url: string;
  state: string;
  lastError: string | null;
  known: string[];
  failovers: number;
}

export async function pointViewOf(node: Pick<ClusterNode, 'url'>): Promise<PointView> {
  const res = await request(`${node.url}/cluster`, { headersTimeout: 2000, bodyTimeout: 2000 });
  return ((await res.body.json()) as { point: PointView }).point;
}

/**
 * `count` Points on one Redis prefix and one database, each with
 * `--peer-points` naming the others (unless `peers` says otherwise: for
 * Point i, the indexes of the Points it names), TTL 3 s.
 */
export async function startPointsCluster(count: number, options: { pointArgs?: string[]; nodeArgs?: string[]; peers?: number[][] } = {}): Promise<PointsCluster> {
  const [redis, postgres] = await Promise.all([redisForTests(), postgresForTests()]);
  const db = await freshDatabase(postgres.url);
  const prefix = uniquePrefix();
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const points: ClusterPoint[] = ports.map((port, i) => {
    const named = (options.peers?.[i] ?? urls.map((_, j) => j).filter((j) => j !== i)).map((j) => urls[j]!);
    const args = ['bootstrap', '--host', '127.0.0.1', '--port', String(port), '--redis-url', redis.url, '--database-url', db.url,
      '--redis-prefix', prefix, '--heartbeat-ttl', '3', ...(named.length > 0 ? ['--peer-points', named.join(',')] : []), ...(options.pointArgs ?? [])];
    return { url: urls[i]!, port, args, env: {}, proc: startCli(args) };
  });
  const dirs: string[] = [];

  const cluster: PointsCluster = {
    redis, postgres, points, nodes: [],
    async addNode(bootstrap, extra = []) {
      const host = nextHost();
      const port = await freePort(host);
      const dataDir = await tempDir('gcdn-points-');
      dirs.push(dataDir);
      const args = ['node', '--host', host, '--port', String(port), '--data-dir', dataDir, '--bootstrap', bootstrap,
        '--gossip-profile', 'local-test', ...(options.nodeArgs ?? []), ...extra];
      const url = `http://${host}:${port}`;
      const { proc, id } = await startOwnNode(args, url, dataDir);
      const node: ClusterNode = { index: cluster.nodes.length, host, port, url, dataDir, proc, id, args: extra, env: {} };
      cluster.nodes.push(node);
      return node;
    },
    async close() {
      await Promise.all(cluster.nodes.map((n) => n.proc.stop(5000)));
      await Promise.all(points.map((p) => p.proc.stop(5000)));
      await releaseBackends({ dirs, db, redis, postgres, prefix });
    },
  };
  try {
    for (const p of points) await waitHealthy(p.proc, `${p.url}/healthz`, 60_000);
  } catch (err) {
    await cluster.close().catch(() => undefined);
    throw err;
  }
  return cluster;
}
