/**
 * One gossip-cdn node: identity, storage, the Point link, gossip, and the HTTP
 * server, under one start()/stop() lifecycle. The composition root: every
 * part is built from the node's config (config.ts), which holds every knob;
 * nothing here is tuned. stop() is the graceful leave:
 * refuse new work, finish in-flight requests, tell peers and the Point,
 * flush the metadata log, clear every timer.
 */
import type { Server } from 'node:http';
import { Router } from 'express';
import { mkdir } from 'node:fs/promises';
import { isIP, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log.js';
import { formatHostPort } from '../host-port.js';
import { loadOrCreateIdentity, type NodeIdentity } from '../identity/keystore.js';
import { HybridLogicalClock } from '../consensus/hlc.js';
import { BlobStore } from '../storage/blob-store.js';
import { BodyCache } from '../http/body-cache.js';
import { NodeMetrics } from '../http/metrics.js';
import { createNodeApp } from '../http/app.js';
import { gossipRoutes } from '../http/gossip-routes.js';
import { closeGracefully, createNodeServer, listen } from '../http/server.js';
import type { BlobApiContext } from '../http/blob-context.js';
import type { OpsContext } from '../http/ops-routes.js';
import type { ClusterView } from '../http/cluster-view.js';
import { GossipRuntime } from '../gossip/shell/runtime.js';
import type { NodeConfig } from './config.js';
import { PointLink } from './point-link.js';

/** The address peers should use: --advertise, else the bound address, else (wildcard) this host's first IPv4. */
export function advertisedAddress(config: NodeConfig, boundPort: number): string {
  if (config.advertise !== undefined) return config.advertise;
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  if (!wildcard) return formatHostPort(config.host, boundPort);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return `${a.address}:${boundPort}`;
  }
  return `127.0.0.1:${boundPort}`;
}

/** The port of a HOST:PORT or [IPv6]:PORT address. */
export function advertisedPort(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

export class CdnNode {
  private server: Server | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private address = '';
  private readonly startedAt = new Date();
  private point: PointLink | undefined;
  private gossip: GossipRuntime | undefined;
  /** replication lags (ms) of the last versions adopted from peers, for /cluster and the page */
  private readonly recentLags: number[] = [];

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
      await node.stop().catch(() => undefined);
      throw err;
    }
    return node;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  private async listen(): Promise<void> {
    const { config } = this;
    const cache = new BodyCache(config.bodyCacheBytes, config.bodyCacheItemBytes);
    const metrics = new NodeMetrics(() => this.store.stats(), () => cache.bytes);
    const ctx: BlobApiContext = {
      store: this.store,
      cache,
      metrics,
      logger: this.logger.child({ component: 'http' }),
      defaultCacheControl: config.defaultCacheControl,
      minUploadBytesPerSecond: config.minUploadBytesPerSecond,
      stallWindowMs: config.stallWindowMs,
      maxBlobBytes: config.maxBlobBytes,
    };
    const ops: OpsContext = { metrics, cluster: () => this.clusterView(), readiness: () => this.readiness() };

    // The port must be known before gossip can say where we are: bind first,
    // then mount the gossip endpoints on a router the app already routes to.
    const gossipMount = Router();
    const server = createNodeServer(ctx, createNodeApp(ctx, ops, gossipMount), config.server);
    // Connections held open and connections refused at the cap (server.maxConnections): a flood shows here.
    const conns = { open: 0, dropped: 0 };
    server.on('connection', (socket: Socket) => {
      conns.open++;
      socket.once('close', () => { conns.open--; });
    });
    server.on('drop', () => { conns.dropped++; });
    metrics.labelledGauge('cdn_http_connections', 'Open client connections', () => ({ open: conns.open }), 'state');
    metrics.mirrorCounter('cdn_http_connections_dropped_total', 'Connections closed at once because --max-connections were open', () => ({ cap: conns.dropped }), 'reason');
    const bound = await listen(server, config.port, config.host);
    this.server = server;
    this.address = advertisedAddress(config, bound.port);

    if (!config.alone) {
      // The Point hands out the port we register: the advertised one (peers may
      // reach us through a port mapping or a proxy), not necessarily the bound one.
      const gossip = this.startGossip(ctx, advertisedPort(this.address));
      gossipMount.use(gossipRoutes(gossip, this.store, this.logger.child({ component: 'gossip-http' })));
    }

    this.sweepTimer = setInterval(() => {
      this.store.collectTombstones(Date.now())
        .then((n) => { if (n > 0) this.logger.info({ collected: n }, 'tombstones collected'); })
        .catch((err: unknown) => this.logger.warn({ err }, 'tombstone collection failed'));
    }, config.tombstoneSweepMs);
    this.sweepTimer.unref();
    this.logger.info({ url: this.url, dataDir: config.dataDir, alone: config.alone }, 'node listening');
  }

  private startGossip(ctx: BlobApiContext, port: number): GossipRuntime {
    const { config } = this;
    const localAddress = isIP(config.host) !== 0 && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : undefined;
    const self = { id: this.identity.id, address: this.address, publicKey: this.identity.publicKey };
    const point = new PointLink(this.identity, { url: config.bootstrapUrl, port, localAddress, clusterSecret: config.clusterSecret },
      config.pointLink, this.logger.child({ component: 'point' }), (peers) => this.gossip?.addPeersFromPoint(peers));
    const { runtime, membership, dataPlane, transport, bodyFetcher } = config;
    const gossip = new GossipRuntime(this.identity, self, this.store, point, config.dataDir, this.logger.child({ component: 'gossip' }),
      { runtime, membership, dataPlane, transport, bodyFetcher }, localAddress);
    this.store.onBodyLost((sha, size) => gossip.bodyLost(sha, size));
    ctx.cluster = {
      published: (v) => gossip.published(v),
      obtainBody: (v) => gossip.obtainBody(v),
      lookup: (k) => gossip.lookup(k),
    };
    const m = ctx.metrics;
    m.mirrorCounter('cdn_gossip_messages_sent_total', 'Gossip messages delivered to peers, by type', () => gossip.metrics().messagesSent);
    m.mirrorCounter('cdn_gossip_bytes_sent_total', 'Gossip message bytes delivered to peers, by type', () => gossip.metrics().bytesSent);
    m.mirrorCounter('cdn_gossip_transport_problems_total', 'Gossip messages that failed or were dropped (backlog full), by kind', () => gossip.metrics().transport, 'kind');
    m.mirrorCounter('cdn_gossip_events_total', 'Protocol events: rounds, adoptions, rumors, anti-entropy sessions, suspicions, refutations, deaths, body fetches', () => gossip.metrics().events, 'event');
    m.mirrorCounter('cdn_gossip_body_bytes_total', 'Body bytes moved between nodes, by direction (fetched, served)', () => gossip.metrics().bodyBytes, 'direction');
    m.labelledGauge('cdn_gossip_peers', 'Known peers by state', () => gossip.metrics().peers, 'state');
    this.store.onAdopted((versions) => {
      const now = Date.now();
      for (const v of versions) {
        const lag = Math.max(0, now - v.timestamp.wall);
        m.replicated(lag / 1000);
        this.recentLags.push(lag);
        if (this.recentLags.length > this.config.replicationLagSamples) this.recentLags.shift();
      }
    });
    m.labelledGauge('cdn_gossip_body_queue', 'Bodies waiting to be fetched', () => ({ queued: gossip.metrics().bodyQueue }), 'queue');
    this.point = point;
    this.gossip = gossip;
    gossip.start().then(() => point.start(), (err: unknown) => this.logger.error({ err }, 'gossip failed to start'));
    return gossip;
  }

  readiness(): { ready: boolean; reason: string } {
    if (this.stopping) return { ready: false, reason: 'stopping' };
    if (!this.store.isOpen) return { ready: false, reason: 'storage is not open' };
    if (this.config.alone) return { ready: true, reason: 'storage open; alone on purpose (--alone)' };
    const live = this.gossip?.members().filter((m) => m.state === 'alive').length ?? 0;
    if (this.point?.state === 'registered' || live > 0) return { ready: true, reason: `storage open; joined (${live} live peers, Point ${this.point?.state ?? 'unknown'})` };
    return { ready: false, reason: `storage open; not joined yet (Point ${this.point?.state ?? 'unknown'}${this.point?.lastError ? `: ${this.point.lastError}` : ''}, no live peers)` };
  }

  clusterView(): ClusterView {
    const s = this.store.stats();
    return {
      id: this.identity.id,
      publicKey: this.identity.publicKey,
      address: this.address,
      startedAt: this.startedAt.toISOString(),
      peers: (this.gossip?.members() ?? []).map((m) => ({
        id: m.id, address: m.address, state: m.state, incarnation: m.incarnation,
        lastContact: m.lastContact === null ? null : new Date(m.lastContact).toISOString(),
      })),
      blobs: { live: s.liveKeys, keys: s.keys, bodies: s.bodies, bytes: s.bodyBytes, quotaBytes: s.quotaBytes },
      replication: {
        samples: this.recentLags.length,
        lagMedianMs: this.recentLags.length === 0 ? null : [...this.recentLags].sort((a, b) => a - b)[Math.floor(this.recentLags.length / 2)] ?? null,
        lagMaxMs: this.recentLags.length === 0 ? null : Math.max(...this.recentLags),
        conflictsDetected: s.conflictsDetected,
        conflictsResolved: s.conflictsResolved,
      },
      point: { url: this.config.bootstrapUrl, state: this.config.alone ? 'not used (--alone)' : this.point?.state ?? 'not contacted', lastError: this.point?.lastError ?? null },
    };
  }

  /** Graceful stop: refuse new work, finish in-flight requests, tell peers and the Point, flush, close. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.sweepTimer);
    // Leave first: peers told we are going stop sending, so their keep-alive
    // connections fall idle and the server drains at once instead of running
    // out its grace; and the peer list is saved before anything can cut us short.
    await this.gossip?.stop().catch((err: unknown) => this.logger.warn({ err }, 'gossip did not stop cleanly'));
    if (this.server !== undefined) await closeGracefully(this.server, this.config.shutdownGraceMs);
    await this.point?.stop().catch(() => undefined);
    await this.store.close();
    this.logger.info('node stopped');
  }
}
