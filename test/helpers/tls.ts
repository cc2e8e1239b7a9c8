/**
 * Real TLS for tests: throwaway CAs and certificates made by
 * scripts/make-certs.sh (the openssl CLI) in a temp dir, an undici Agent
 * that trusts one of them, and a cluster whose Point and nodes all run with
 * --tls-cert/--tls-key/--tls-ca, each node on its own 127.0.0.x with a
 * certificate for that address (an IP SAN), over real Redis and PostgreSQL.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { requireTools } from './prereqs.js';
import { startCli, type CliProcess } from './process.js';
import { freePort } from './net.js';
import { waitFor } from './wait.js';
import { removeDir, tempDir } from './node.js';
import { nextHost, releaseBackends } from './cluster.js';
import { freshDatabase, postgresForTests, redisForTests, uniquePrefix } from './services.js';

const run = promisify(execFile);
const MAKE_CERTS = fileURLToPath(new URL('../../scripts/make-certs.sh', import.meta.url));

export interface CertPaths {
  cert: string;
  key: string;
}

/** A private CA in its own directory, issuing certificates on demand. */
export interface TestCa {
  dir: string;
  /** ca.pem */
  ca: string;
  pem: Buffer;
  /** an undici Agent that trusts only this CA */
  agent: Agent;
  /** a certificate (and key) for the subjectAltName list, e.g. `IP:127.0.0.5` or `DNS:other.example` */
  issue(name: string, sans: string): Promise<CertPaths>;
}

/** A new CA in a temp dir (scripts/make-certs.sh makes it on first use). */
export async function makeCa(): Promise<TestCa> {
  requireTools(['openssl']);
  const dir = await tempDir('gcdn-tls-');
  const issue = async (name: string, sans: string): Promise<CertPaths> => {
    await run('sh', [MAKE_CERTS, dir, name, sans], { timeout: 30_000 });
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  };
  await issue('first', 'DNS:first.invalid');
  const pem = readFileSync(join(dir, 'ca.pem'));
  return { dir, ca: join(dir, 'ca.pem'), pem, agent: new Agent({ connect: { ca: pem, timeout: 5000 } }), issue };
}

export async function dropCa(ca: TestCa): Promise<void> {
  await ca.agent.close().catch(() => undefined);
  await removeDir(ca.dir);
}

/** The node or Point's flags for `paths` and the CA that verifies its peers. */
export function tlsArgs(paths: CertPaths, ca: string): string[] {
  return ['--tls-cert', paths.cert, '--tls-key', paths.key, '--tls-ca', ca];
}

/** Waits until `url` answers 200 through `agent` (or the process dies, which fails at once with its output). */
export async function waitHealthyTls(proc: CliProcess, url: string, agent: Agent, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => {
    if (proc.hasExited()) throw new Error(`process exited early:\n${proc.output()}`);
    const res = await request(url, { dispatcher: agent, headersTimeout: 2000, bodyTimeout: 2000 }).catch(() => undefined);
    await res?.body.dump();
    return res?.statusCode === 200;
  }, { what: `${url} to answer 200`, timeoutMs });
}

export interface TlsNode {
  host: string;
  port: number;
  url: string;
  dataDir: string;
  proc: CliProcess;
  id: string;
}

export interface TlsCluster {
  point: { url: string; port: number; proc: CliProcess };
  nodes: TlsNode[];
  /** a node with its own certificate from `issuer` (default: the cluster's CA), verifying others with `trust` (default: the cluster's CA) */
  addNode(options?: { issuer?: TestCa; trust?: string; extra?: string[]; env?: NodeJS.ProcessEnv; waitFor?: 'healthz' | 'readyz' }): Promise<TlsNode>;
  close(): Promise<void>;
}

/**
 * The Point (TLS, on 127.0.0.1, Redis and PostgreSQL) and `size` TLS nodes
 * with certificates from `ca`. The Point's certificate is from `pointIssuer`
 * (default `ca`); nodes verify with the CA file `trust` (default `ca`'s; a
 * bundle when the Point's issuer differs).
 */
export async function startTlsCluster(size: number, ca: TestCa, options: {
  pointArgs?: string[]; nodeArgs?: string[]; nodeEnv?: NodeJS.ProcessEnv; pointIssuer?: TestCa; trust?: string;
} = {}): Promise<TlsCluster> {
  const pointIssuer = options.pointIssuer ?? ca;
  const trust = options.trust ?? ca.ca;
  const redis = await redisForTests();
  const postgres = await postgresForTests();
  const db = await freshDatabase(postgres.url);
  const prefix = uniquePrefix();
  const dirs: string[] = [];
  const pointPort = await freePort();
  const pointCert = await pointIssuer.issue(`point-${pointPort}`, 'IP:127.0.0.1');
  const pointArgs = ['bootstrap', '--host', '127.0.0.1', '--port', String(pointPort), '--redis-url', redis.url, '--database-url', db.url,
    '--redis-prefix', prefix, '--heartbeat-ttl', '3', ...tlsArgs(pointCert, pointIssuer.ca), ...(options.pointArgs ?? [])];
  const point = { url: `https://127.0.0.1:${pointPort}`, port: pointPort, proc: startCli(pointArgs) };
  const started: CliProcess[] = [point.proc];

  const cluster: TlsCluster = {
    point,
    nodes: [],
    async addNode(o = {}) {
      const host = nextHost();
      const port = await freePort(host);
      const dataDir = await tempDir('gcdn-tls-node-');
      dirs.push(dataDir);
      const cert = await (o.issuer ?? ca).issue(`node-${host}-${port}`, `IP:${host}`);
      const args = ['node', '--host', host, '--port', String(port), '--data-dir', dataDir, '--bootstrap', point.url, '--gossip-profile', 'local-test',
        ...tlsArgs(cert, o.trust ?? trust), ...(options.nodeArgs ?? []), ...(o.extra ?? [])];
      const proc = startCli(args, { env: { ...options.nodeEnv, ...o.env } });
      started.push(proc);
      const url = `https://${host}:${port}`;
      await waitHealthyTls(proc, `${url}/${o.waitFor ?? 'healthz'}`, ca.agent);
      const res = await request(`${url}/cluster`, { dispatcher: ca.agent });
      const view = await res.body.json() as { id: string };
      const node = { host, port, url, dataDir, proc, id: view.id };
      cluster.nodes.push(node);
      return node;
    },
    async close() {
      await Promise.all(started.map((p) => p.stop(5000)));
      await releaseBackends({ dirs, db, redis, postgres, prefix });
    },
  };
  try {
    await waitHealthyTls(point.proc, `${point.url}/healthz`, pointIssuer.agent);
    for (let i = 0; i < size; i++) await cluster.addNode();
  } catch (err) {
    await cluster.close().catch(() => undefined);
    throw err;
  }
  return cluster;
}

/** A node's /cluster over TLS. */
export async function tlsClusterView(node: Pick<TlsNode, 'url'>, agent: Agent, nodes = false): Promise<{ id: string; peers: { id: string; state: string }[]; nodes?: { id: string; reachable: boolean }[] }> {
  const res = await request(`${node.url}/cluster${nodes ? '?nodes=1' : ''}`, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 });
  return await res.body.json() as { id: string; peers: { id: string; state: string }[] };
}
