/**
 * The chaos cluster: private Redis and PostgreSQL, the Point on them, the
 * fault proxy, and N nodes each on its own loopback address, advertising
 * the proxy's port on that address, each with its own clock file (clocks.ts)
 * in the run dir. `close()` stops and removes everything it started,
 * whatever state the run left it in.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { TEST_CLOCK_FILE_ENV } from '../../src/wall-clock.js';
import { ClockFiles, skewMs } from './clocks.js';
import { freePort } from './net.js';
import { FaultProxy, PROXY_DEFAULTS } from './proxy.js';
import { ManagedProcess, waitHealthy, type Crash } from './processes.js';
import { startPrivatePostgres, startPrivateRedis, type Service } from './services.js';
import { waitFor } from './wait.js';

/** How close a node's clock must read to what its file says to count as following it (loopback round trips on a loaded machine). */
export const CLOCK_TOLERANCE_MS = 1_000;

export interface ChaosNode {
  index: number;
  ip: string;
  /** the node's own port (clients use it) */
  port: number;
  /** the proxy's port on the node's address (peers use it) */
  proxyPort: number;
  url: string;
  dataDir: string;
  proc: ManagedProcess;
  /** killed and not yet back */
  down: boolean;
  /** the node's id (from its key, the same across restarts); '' until membership is complete */
  id: string;
}

export interface ClusterOptions {
  nodes: number;
  /** the first node's address is 127.0.0.<ipBase>, the next +1, ... */
  ipBase: number;
  runDir: string;
  seed: number;
  clock: () => number;
  onCrash: (crash: Crash) => void;
  startTimeoutMs: number;
  /** owners per body (`--replicas`) */
  replicas: number | 'all';
  /** each node's cache for bodies it does not own (`--cache-size`), bytes */
  cacheBytes: number;
}

export class ChaosCluster {
  redis: Service | undefined;
  postgres: Service | undefined;
  point: ManagedProcess | undefined;
  pointUrl = '';
  proxy: FaultProxy | undefined;
  readonly nodes: ChaosNode[] = [];
  readonly clocks: ClockFiles;

  constructor(private readonly options: ClusterOptions) {
    this.clocks = new ClockFiles(options.runDir, options.nodes);
  }

  async start(log: (line: string) => void): Promise<void> {
    const o = this.options;
    await mkdir(o.runDir, { recursive: true });
    this.redis = await startPrivateRedis();
    this.postgres = await startPrivatePostgres();
    log(`redis at ${this.redis.url}, postgres at ${this.postgres.url}`);
    const pointPort = await freePort();
    this.pointUrl = `http://127.0.0.1:${pointPort}`;
    this.point = new ManagedProcess('point', ['bootstrap', '--host', '127.0.0.1', '--port', String(pointPort), '--redis-url', this.redis.url,
      '--database-url', this.postgres.url, '--heartbeat-ttl', '5', '--data-dir', join(o.runDir, 'point')], join(o.runDir, 'point.log'), o.onCrash, o.clock);
    this.point.start();
    await waitHealthy(this.point, `${this.pointUrl}/healthz`, o.startTimeoutMs);
    log(`the Point at ${this.pointUrl}`);

    for (let i = 0; i < o.nodes; i++) {
      const ip = `127.0.0.${o.ipBase + i}`;
      const port = await freePort(ip);
      let proxyPort = await freePort(ip);
      while (proxyPort === port) proxyPort = await freePort(ip);
      const dataDir = join(o.runDir, `node-${i}`);
      const args = ['node', '--host', ip, '--port', String(port), '--advertise', `${ip}:${proxyPort}`, '--data-dir', dataDir,
        '--bootstrap', this.pointUrl, '--gossip-profile', 'local-test', '--replicas', String(o.replicas), '--cache-size', String(o.cacheBytes)];
      const proc = new ManagedProcess(`node ${i}`, args, join(o.runDir, `node-${i}.log`), o.onCrash, o.clock, { [TEST_CLOCK_FILE_ENV]: this.clocks.fileFor(i) });
      this.nodes.push({ index: i, ip, port, proxyPort, url: `http://${ip}:${port}`, dataDir, proc, down: false, id: '' });
    }
    this.proxy = new FaultProxy(this.nodes.map((n) => ({ ip: n.ip, proxyPort: n.proxyPort, internalPort: n.port })), { ...PROXY_DEFAULTS, seed: o.seed });
    await this.proxy.start();
    for (const n of this.nodes) await this.startNode(n);
    log(`${o.nodes} nodes: ${this.nodes.map((n) => `${n.url} (peers via :${n.proxyPort})`).join(', ')}`);
  }

  /** Starts (or restarts) a node, with whatever skew its clock has now (clocks.ts). */
  async startNode(node: ChaosNode): Promise<void> {
    await this.clocks.beforeStart(node.index);
    node.proc.start();
    await waitHealthy(node.proc, `${node.url}/healthz`, this.options.startTimeoutMs);
    await this.clocks.afterStart(node.index);
    node.down = false;
  }

  /** Every node sees every other as alive (bounded). Records each node's id. */
  async waitMembership(timeoutMs: number): Promise<void> {
    await waitFor(async () => {
      for (const n of this.nodes) {
        const res = await request(`${n.url}/cluster`, { headersTimeout: 2000, bodyTimeout: 2000 });
        const view = (await res.body.json()) as { id: string; peers: { address: string; state: string }[] };
        n.id = view.id;
        const alive = new Set(view.peers.filter((p) => p.state === 'alive').map((p) => p.address));
        for (const other of this.nodes) if (other !== n && !alive.has(`${other.ip}:${other.proxyPort}`)) return false;
      }
      return true;
    }, { what: 'every node to see every other alive', timeoutMs, intervalMs: 250 });
  }

  /**
   * Undoes every fault still in force: heal the network, every clock back on
   * real time, resume paused nodes, restart dead ones and the services. Then
   * waits (bounded) until every node's clock reads real time; returns the
   * nodes whose clock did not (their index and what it read).
   */
  async healAll(clockTimeoutMs = 10_000): Promise<{ node: number; skewMs: number | null }[]> {
    this.proxy?.heal();
    await this.clocks.resetAll();
    for (const n of this.nodes) if (n.proc.paused) n.proc.signal('SIGCONT');
    await this.redis?.start();
    await this.postgres?.start();
    for (const n of this.nodes) if (!n.proc.running) await this.startNode(n);
    const off = await Promise.all(this.nodes.map(async (n) => ({ node: n.index, skewMs: await this.waitClock(n, clockTimeoutMs) })));
    return off.filter((o) => o.skewMs === null || Math.abs(o.skewMs) > CLOCK_TOLERANCE_MS);
  }

  /**
   * Waits (bounded) until `node`'s wall clock reads what its clock file says
   * (within CLOCK_TOLERANCE_MS); returns the last skew it read (null if the
   * node never answered). A node that is not running reads its file when it
   * starts: nothing to wait for.
   */
  async waitClock(node: ChaosNode, timeoutMs: number, signal?: AbortSignal): Promise<number | null> {
    let last: number | null = null;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!node.proc.running) return this.clocks.expectedSkewMs(node.index);
      try {
        last = await skewMs(node.url, Math.max(500, Math.min(2000, deadline - Date.now())));
        if (Math.abs(last - this.clocks.expectedSkewMs(node.index)) <= CLOCK_TOLERANCE_MS) return last;
      } catch {
        // paused, or busy: ask again
      }
      if (Date.now() >= deadline || signal?.aborted === true) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async close(keepDir: boolean): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc.stop().catch(() => undefined)));
    await this.point?.stop().catch(() => undefined);
    await this.proxy?.stop().catch(() => undefined);
    await this.redis?.close().catch(() => undefined);
    await this.postgres?.close().catch(() => undefined);
    if (!keepDir) await rm(this.options.runDir, { recursive: true, force: true });
  }
}
