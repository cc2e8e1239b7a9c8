/**
 * One gossip-cdn node: identity, storage, HTTP server, and the periodic
 * work around them, under one start()/stop() lifecycle. stop() finishes
 * in-flight requests, flushes the metadata log and clears every timer.
 */
import type { Server } from 'node:http';
import { mkdir } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { loadOrCreateIdentity, type NodeIdentity } from '../identity/keystore.js';
import { HybridLogicalClock } from '../consensus/hlc.js';
import { BlobStore } from '../storage/blob-store.js';
import { BodyCache } from '../http/body-cache.js';
import { NodeMetrics } from '../http/metrics.js';
import { createNodeApp } from '../http/app.js';
import { closeGracefully, createNodeServer, listen } from '../http/server.js';
import type { BlobApiContext } from '../http/blob-context.js';
import type { ClusterView, OpsContext } from '../http/ops-routes.js';
import type { NodeConfig } from './config.js';

export class CdnNode {
  private server: Server | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private address = '';
  private readonly startedAt = new Date();

  private constructor(
    readonly config: NodeConfig,
    readonly identity: NodeIdentity,
    readonly store: BlobStore,
    private readonly logger: Logger,
  ) {}

  static async start(config: NodeConfig, logger: Logger): Promise<CdnNode> {
    await mkdir(config.dataDir, { recursive: true });
    const identity = await loadOrCreateIdentity(config.dataDir);
    const log = logger.child({ node: identity.id });
    const clock = new HybridLogicalClock(() => Date.now());
    const store = await BlobStore.open(
      { dataDir: config.dataDir, maxBlobBytes: config.maxBlobBytes, quotaBytes: config.quotaBytes, tombstoneGraceMs: config.tombstoneGraceMs },
      { nodeId: identity.id, clock, logger: log.child({ component: 'storage' }) },
    );
    const node = new CdnNode(config, identity, store, log);
    try {
      await node.listen();
    } catch (err) {
      await store.close();
      throw err;
    }
    return node;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  private async listen(): Promise<void> {
    const cache = new BodyCache(this.config.bodyCacheBytes, this.config.bodyCacheItemBytes);
    const metrics = new NodeMetrics(() => this.store.stats(), () => cache.bytes);
    const ctx: BlobApiContext = {
      store: this.store,
      cache,
      metrics,
      logger: this.logger.child({ component: 'http' }),
      defaultCacheControl: this.config.defaultCacheControl,
      minUploadBytesPerSecond: this.config.minUploadBytesPerSecond,
      stallWindowMs: this.config.stallWindowMs,
      maxBlobBytes: this.config.maxBlobBytes,
    };
    const ops: OpsContext = {
      metrics,
      cluster: () => this.clusterView(),
      readiness: () => this.readiness(),
    };
    const server = createNodeServer(ctx, createNodeApp(ctx, ops));
    const bound = await listen(server, this.config.port, this.config.host);
    this.server = server;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    this.address = this.config.advertise ?? `${host}:${bound.port}`;
    this.sweepTimer = setInterval(() => {
      this.store.collectTombstones(Date.now())
        .then((n) => { if (n > 0) this.logger.info({ collected: n }, 'tombstones collected'); })
        .catch((err: unknown) => this.logger.warn({ err }, 'tombstone collection failed'));
    }, this.config.tombstoneSweepMs);
    this.sweepTimer.unref();
    this.logger.info({ url: this.url, dataDir: this.config.dataDir }, 'node listening');
  }

  readiness(): { ready: boolean; reason: string } {
    if (this.stopping) return { ready: false, reason: 'stopping' };
    if (!this.store.isOpen) return { ready: false, reason: 'storage is not open' };
    return { ready: true, reason: 'storage open; serving alone (no gossip peers configured)' };
  }

  clusterView(): ClusterView {
    const s = this.store.stats();
    return {
      id: this.identity.id,
      publicKey: this.identity.publicKey,
      address: this.address,
      startedAt: this.startedAt.toISOString(),
      peers: [],
      blobs: { live: s.liveKeys, keys: s.keys, bodies: s.bodies, bytes: s.bodyBytes, quotaBytes: s.quotaBytes },
      point: { url: this.config.bootstrapUrl, state: 'not contacted', lastError: null },
    };
  }

  /** Graceful stop: refuse new work, finish in-flight requests, flush, close. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.sweepTimer);
    if (this.server !== undefined) await closeGracefully(this.server, this.config.shutdownGraceMs);
    await this.store.close();
    this.logger.info('node stopped');
  }
}
