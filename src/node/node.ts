/**
 * One gossip-cdn node: identity, storage, the Point link, gossip, and the HTTP
 * server, under one start()/stop() lifecycle. The composition root: every
 * part is built from the node's config (config.ts), which holds every knob;
 * nothing here is tuned. stop() is the graceful leave:
 * refuse new work, finish in-flight requests, tell peers and the Point,
 * flush the metadata log, clear every timer.
 */
import { Router } from 'express';
import { mkdir } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { loadOrCreateIdentity, type NodeIdentity } from '../identity/keystore.js';
import { signVersion } from '../identity/version-signature.js';
import { HybridLogicalClock } from '../consensus/hlc.js';
import { monotonicClock, wallClock, type Clock } from '../wall-clock.js';
import { BlobStore } from '../storage/blob-store.js';
import { BodyCache } from '../http/body-cache.js';
import { NodeMetrics } from '../http/metrics.js';
import { createNodeApp } from '../http/app.js';
import { gossipRoutes } from '../http/gossip-routes.js';
import { closeGracefully, createNodeServer, listen } from '../http/server.js';
import { createLimiters, exportRateLimitMetrics } from '../http/rate-limits.js';
import type { BlobApiContext } from '../http/blob-context.js';
import type { OpsContext } from '../http/ops-routes.js';
import { GossipRuntime } from '../gossip/shell/runtime.js';
import type { NodeConfig } from './config.js';
import { PointLink } from './point-link.js';
import { advertisedAddress, advertisedPort, dialFrom } from './address.js';
import { ReplicationLags } from './replication-lags.js';
import { clusterView, readiness, type NodeState, type ReadinessState } from './node-view.js';
import { exportConnectionMetrics, exportGossipMetrics, exportPointMetrics } from './node-metrics.js';
import { clockReason } from '../gossip/shell/peer-clocks.js';
import { certificateNames, dialingOf, loadTls, schemeOf, type HttpServer, type TlsSetup } from '../tls.js';
import { parsePublicKey } from '../auth/public-key.js';
import { ClientAuth } from '../auth/guard.js';
import { RevocationStore } from '../auth/revocation-store.js';
import type { RevocationHooks } from '../gossip/core/revocations.js';

export class CdnNode {
  private server: HttpServer | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private address = '';
  private readonly startedAt = new Date();
  private point: PointLink | undefined;
  private gossip: GossipRuntime | undefined;
  /** replication lags of the last versions adopted from peers, for /cluster and the page */
  private readonly lags: ReplicationLags;

  private constructor(
    readonly config: NodeConfig,
    readonly identity: NodeIdentity,
    readonly store: BlobStore,
    private readonly logger: Logger,
    /** the wall clock (the test file's skew in fault tests); timers run on the monotonic clock */
    private readonly wall: Clock & { stop?: () => void },
    /** the certificate this node serves with and the CA it verifies peers and the Point against */
    private readonly tls: TlsSetup,
  ) {
    this.lags = new ReplicationLags(config.replicationLagSamples);
  }

  static async start(config: NodeConfig, logger: Logger): Promise<CdnNode> {
    // TLS files first: a bad one is a config error before anything is opened
    const tls = loadTls(config.tls);
    await mkdir(config.dataDir, { recursive: true });
    const identity = await loadOrCreateIdentity(config.dataDir);
    const log = logger.child({ node: identity.id });
    const wall = wallClock(config.profile, log.child({ component: 'clock' }));
    // a stamp further ahead than the skew limit does not move it: one wild clock cannot drag ours forward
    const clock = new HybridLogicalClock(() => wall.now(), { maxForwardDriftMs: config.maxClockSkewMs });
    let store: BlobStore;
    try {
      store = await BlobStore.open(
        { dataDir: config.dataDir, maxBlobBytes: config.maxBlobBytes, quotaBytes: config.quotaBytes, tombstoneGraceMs: config.tombstoneGraceMs },
        { nodeId: identity.id, clock, logger: log.child({ component: 'storage' }), sign: (fields) => signVersion(identity, fields) },
      );
    } catch (err) {
      wall.stop?.();
      throw err;
    }
    const node = new CdnNode(config, identity, store, log, wall, tls);
    try {
      await node.listen();
    } catch (err) {
      await node.stop().catch(() => undefined);
      throw err;
    }
    return node;
  }

  get url(): string {
    return `${schemeOf(this.tls)}://${this.address}`;
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
    const ops: OpsContext = { metrics, cluster: () => clusterView(this.state()), readiness: () => readiness(this.readinessState()), dialing: dialingOf(this.tls) };
    const adminKey = config.authPublicKey === undefined ? undefined : parsePublicKey(config.authPublicKey);
    if (adminKey !== undefined) {
      const revocations = await RevocationStore.open(config.dataDir, adminKey, this.logger.child({ component: 'auth' }));
      const authLog = this.logger.child({ component: 'auth' });
      ctx.auth = new ClientAuth(adminKey, revocations, config.privateReads, (why, req) => {
        metrics.authRefused(why);
        // the headers and URL as sent: the logger redacts Authorization and ?token= (log.ts)
        authLog.debug({ reason: why, method: req.method, url: req.url, headers: req.headers }, 'client request refused for its token');
      });
      const { checks } = ctx.auth;
      metrics.mirrorCounter('cdn_auth_token_checks_total', 'Client tokens checked: by signature (verified), or found in the cache of verified tokens (cached)', () => ({ ...checks }), 'how');
    }

    // The port must be known before gossip can say where we are: bind first,
    // then mount the gossip endpoints on a router the app already routes to.
    const gossipMount = Router();
    const limiters = createLimiters(config.rateLimits);
    exportRateLimitMetrics(metrics, limiters);
    const server = createNodeServer(ctx, createNodeApp(ctx, ops, gossipMount), config.server, this.tls, limiters.public);
    // Connections held open and connections refused at the cap (server.maxConnections): a flood shows here.
    exportConnectionMetrics(metrics, server);
    const bound = await listen(server, config.port, config.host);
    this.server = server;
    this.address = advertisedAddress(config, bound.port);

    if (!config.alone) {
      // The Point hands out the port we register: the advertised one (peers may
      // reach us through a port mapping or a proxy), not necessarily the bound one.
      const gossip = this.startGossip(ctx, advertisedPort(this.address));
      gossipMount.use(gossipRoutes(gossip, this.store, this.logger.child({ component: 'gossip-http' }), limiters));
    }

    this.sweepTimer = setInterval(() => {
      ctx.auth?.revocations.collect().catch(() => undefined);
      (this.gossip === undefined ? this.store.collectTombstones(this.wall.now()) : this.gossip.collectTombstones(this.wall.now(), this.store))
        .then((n) => { if (n > 0) this.logger.info({ collected: n }, 'tombstones collected'); })
        .catch((err: unknown) => this.logger.warn({ err }, 'tombstone collection failed'));
    }, config.tombstoneSweepMs);
    this.sweepTimer.unref();
    this.warnAboutTls();
    this.logger.info({ url: this.url, dataDir: config.dataDir, alone: config.alone, tls: this.tls.server !== undefined }, 'node listening');
  }

  /** What would make peers or the Point refuse us, or expose the Point's session key, said once at start. */
  private warnAboutTls(): void {
    const served = this.tls.server;
    if (served === undefined) return;
    const host = this.address.slice(0, this.address.lastIndexOf(':'));
    if (!certificateNames(served.certificate, host)) {
      this.logger.warn({ address: this.address, subject: served.certificate.subject, subjectAltName: served.certificate.subjectAltName },
        'the TLS certificate does not name the advertised host; peers verifying it will refuse this node');
    }
    const plain = this.config.bootstrapUrls.filter((url) => new URL(url).protocol === 'http:');
    if (!this.config.alone && plain.length > 0) {
      this.logger.warn({ points: plain }, 'TLS is on but a Point\'s URL is http://: registration and session keys travel in clear');
    }
  }

  private startGossip(ctx: BlobApiContext, port: number): GossipRuntime {
    const { config } = this;
    const localAddress = dialFrom(config.host);
    const self = { id: this.identity.id, address: this.address, publicKey: this.identity.publicKey };
    const point = new PointLink(this.identity, { urls: config.bootstrapUrls, port, localAddress, clusterSecret: config.clusterSecret, ca: this.tls.ca },
      config.pointLink, this.logger.child({ component: 'point' }), (peers) => this.gossip?.addPeersFromPoint(peers));
    const { runtime, membership, dataPlane, placement, transport, bodyFetcher } = config;
    const revocations = ctx.auth?.revocations;
    const hooks: RevocationHooks | undefined = revocations === undefined ? undefined : {
      admit: async (items) => {
        const fresh: string[] = [];
        for (const item of items) if (await revocations.add(item) === 'added') fresh.push(item);
        return fresh;
      },
      known: () => revocations.items(),
    };
    const gossip = new GossipRuntime(this.identity, self, this.store, point, config.dataDir, this.logger.child({ component: 'gossip' }),
      { runtime, membership, dataPlane: { ...dataPlane, tombstoneGraceMs: config.tombstoneGraceMs, maxClockSkewMs: config.maxClockSkewMs }, placement, transport, bodyFetcher },
      localAddress, { wall: this.wall, monotonic: monotonicClock }, dialingOf(this.tls), hooks);
    if (ctx.auth !== undefined) ctx.auth.spread = (revocation) => gossip.core.revocations.add(revocation);
    this.store.onBodyLost((sha, size) => gossip.bodyLost(sha, size));
    ctx.cluster = {
      published: (v) => gossip.published(v),
      obtainBody: (v) => gossip.obtainBody(v),
      openRemoteBody: (v, start, end) => gossip.openRemoteBody(v, start, end),
      owners: (sha) => gossip.core.custody.owners(sha),
      replicate: config.placement.writeCopies > 1 ? (v, body) => gossip.replicate(v, body) : undefined,
      lookup: (k) => gossip.lookup(k),
      touched: (sha) => gossip.core.custody.touched(sha),
      settleRejoin: (k) => gossip.settleRejoin(k),
      writeRefused: () => {
        const clock = gossip.peerClocks.verdict();
        return clock.disagrees ? clockReason(clock) : undefined;
      },
    };
    exportGossipMetrics(ctx.metrics, gossip);
    exportPointMetrics(ctx.metrics, point);
    this.store.onAdopted((versions) => {
      const now = this.wall.now();
      for (const v of versions) {
        const lag = now - v.timestamp.wall;
        ctx.metrics.replicated(Math.max(0, lag) / 1000);
        this.lags.record(lag);
      }
    });
    this.point = point;
    this.gossip = gossip;
    gossip.start().then(() => point.start(), (err: unknown) => this.logger.error({ err }, 'gossip failed to start'));
    return gossip;
  }

  /** What the parts report now, for readiness and the cluster view (node-view.ts). */
  private readinessState(): ReadinessState {
    return {
      stopping: this.stopping,
      storageOpen: this.store.isOpen,
      alone: this.config.alone,
      members: this.gossip?.members() ?? [],
      point: {
        url: this.point?.url ?? this.config.bootstrapUrls[0] ?? '',
        state: this.point?.state,
        lastError: this.point?.lastError ?? null,
        known: this.point?.known() ?? [...this.config.bootstrapUrls],
        failovers: this.point?.failovers ?? 0,
      },
      clock: this.gossip?.peerClocks.verdict(),
      acceptance: this.gossip?.peerClocks.acceptance(),
    };
  }

  private state(): NodeState {
    return {
      ...this.readinessState(),
      id: this.identity.id,
      publicKey: this.identity.publicKey,
      address: this.address,
      startedAt: this.startedAt,
      store: this.store.stats(),
      lags: this.lags.summary(),
      placement: { replicas: this.config.placement.replicas, zone: this.config.placement.zone ?? null, cacheBytes: this.config.placement.cacheBytes, writeCopies: this.config.placement.writeCopies },
      custody: this.gossip?.metrics().custody,
      offsets: new Map((this.gossip?.peerClocks.all() ?? []).map((o) => [o.peer, o.offsetMs])),
      links: this.linksState(),
    };
  }

  private linksState(): NodeState['links'] {
    const g = this.gossip;
    if (g === undefined) return { maxPeers: this.config.membership.maxPeers, active: [], kept: 0, keptConnections: 0, oneOffConnections: 0 };
    const l = g.links();
    return { maxPeers: l.maxPeers, active: g.activePeers().map((p) => p.id), kept: l.kept, keptConnections: l.keptConnections, oneOffConnections: l.oneOffConnections };
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
    this.wall.stop?.();
    this.logger.info('node stopped');
  }
}
