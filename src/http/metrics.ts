/**
 * The node's Prometheus metrics, on a registry of its own (so several nodes
 * can live in one process in tests). Store-derived gauges are read at scrape
 * time rather than kept in step by hand.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoreStats } from '../storage/types.js';

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly duration: Histogram<'route' | 'method'>;
  private readonly bytesIn: Counter;
  private readonly bytesOut: Counter;
  private readonly written: Counter;
  private readonly streams: Counter;
  private readonly lag: Histogram;
  private readonly refused: Counter<'reason'>;

  constructor(stats: () => StoreStats, cacheBytes: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'cdn_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.duration = new Histogram({
      name: 'cdn_http_request_duration_seconds', help: 'Time to answer, by route and method', labelNames: ['route', 'method'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    });
    this.bytesIn = new Counter({ name: 'cdn_http_bytes_in_total', help: 'Request body bytes received', registers });
    this.bytesOut = new Counter({ name: 'cdn_http_bytes_out_total', help: 'Response bytes sent', registers });
    this.written = new Counter({ name: 'cdn_blob_writes_total', help: 'Versions written by clients of this node', registers });
    this.streams = new Counter({ name: 'cdn_body_streams_total', help: 'Bodies streamed from disk (not from the memory cache)', registers });
    this.lag = new Histogram({
      name: 'cdn_replication_lag_seconds', help: 'Time from a version\'s creation at its origin (HLC wall clock) to its adoption here', registers,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    });
    this.refused = new Counter({ name: 'cdn_auth_refused_total', help: 'Client requests refused for their token: unauthorized (401: missing or bad) and forbidden (403: scope, blob, expired, revoked)', labelNames: ['reason'], registers });
    this.mirrorCounter('cdn_conflicts_total', 'Concurrent versions kept as siblings (detected) and sibling sets later resolved to one version (resolved)',
      () => ({ detected: stats().conflictsDetected, resolved: stats().conflictsResolved }), 'kind');
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    gauge('cdn_store_live_keys', 'Keys whose winning version is live', () => stats().liveKeys);
    gauge('cdn_store_keys', 'Keys known, including deleted ones awaiting collection', () => stats().keys);
    gauge('cdn_store_bodies', 'Bodies held on disk', () => stats().bodies);
    gauge('cdn_store_body_bytes', 'Bytes of bodies held on disk', () => stats().bodyBytes);
    gauge('cdn_store_quota_bytes', 'Disk quota for bodies', () => stats().quotaBytes);
    gauge('cdn_store_meta_log_bytes', 'Size of the metadata log', () => stats().metaLogBytes);
    gauge('cdn_store_corrupt_bodies_detected', 'Bodies that failed their checksum since start', () => stats().corruptBodiesDetected);
    gauge('cdn_body_cache_bytes', 'Bytes in the small-body memory cache', cacheBytes);
  }

  /** A client request refused for its token (the reason class only: never a token value). */
  authRefused(reason: 'unauthorized' | 'forbidden'): void {
    this.refused.inc({ reason });
  }

  /** Starts timing a request; the returned function records it once answered (the route is known only then). */
  observe(method: string): (route: string, status: number, bytesIn: number, bytesOut: number) => void {
    const end = this.duration.startTimer();
    return (route, status, bytesIn, bytesOut) => {
      end({ route, method });
      this.requests.inc({ route, method, status: String(status) });
      if (bytesIn > 0) this.bytesIn.inc(bytesIn);
      if (bytesOut > 0) this.bytesOut.inc(bytesOut);
    };
  }

  /**
   * Mirrors monotonic counts kept elsewhere (the gossip runtime's stats) as
   * Prometheus counters: each scrape adds what grew since the last one.
   */
  mirrorCounter(name: string, help: string, read: () => Record<string, number>, label = 'type'): void {
    const last = new Map<string, number>();
    new Counter({
      name, help, labelNames: [label], registers: [this.registry],
      collect() {
        for (const [key, value] of Object.entries(read())) {
          const delta = value - (last.get(key) ?? 0);
          if (delta > 0) this.inc({ [label]: key }, delta);
          last.set(key, value);
        }
      },
    });
  }

  /** A gauge read at scrape time, with one label. */
  labelledGauge(name: string, help: string, read: () => Record<string, number>, label: string): void {
    new Gauge({
      name, help, labelNames: [label], registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(read())) this.set({ [label]: key }, value);
      },
    });
  }

  /** A version adopted from a peer, `seconds` after its origin created it. */
  replicated(seconds: number): void {
    this.lag.observe(Math.max(0, seconds));
  }

  blobWritten(_size: number): void {
    this.written.inc();
  }

  bodyStreamsStarted(): void {
    this.streams.inc();
  }
}
