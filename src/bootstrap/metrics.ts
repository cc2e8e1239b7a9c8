/**
 * The Point's Prometheus metrics, on a registry of its own (never prom-client's
 * global one, so several Points or a Point and a node can share a process).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class PointMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'point_http_requests_total', help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const, registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'point_http_request_duration_seconds', help: 'Time to answer, by route',
    labelNames: ['route'] as const, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
    registers: [this.registry],
  });
  readonly registrations = new Counter({ name: 'point_registrations_total', help: 'Successful /reg calls', registers: [this.registry] });
  readonly removed = new Counter({
    name: 'point_nodes_removed_total', help: 'Nodes dropped from the registry, by reason',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly banReports = new Counter({ name: 'point_ban_reports_total', help: 'Ban reports accepted', registers: [this.registry] });
  readonly bans = new Counter({ name: 'point_bans_total', help: 'Reports that reached the quorum (new bans and renewals)', registers: [this.registry] });
  readonly backendUp = new Gauge({
    name: 'point_backend_up', help: '1 when the backend answered its last probe',
    labelNames: ['backend', 'kind'] as const, registers: [this.registry],
  });
  readonly registered = new Gauge({ name: 'point_registered_nodes', help: 'Ids in the registry at the last sweep', registers: [this.registry] });
  readonly bannedAddresses = new Gauge({ name: 'point_banned_addresses', help: 'Addresses in the ban snapshot', registers: [this.registry] });
  readonly rateLimited = new Counter({
    name: 'point_rate_limited_total', help: 'Requests refused with 429: over the per-address rate (rate) or the challenge caps (challenges)',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly limiterEntries = new Gauge({ name: 'point_rate_limiter_entries', help: 'Addresses held by the rate limiter (bounded by --rate-limit-table)', registers: [this.registry] });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'point_' });
  }
}
