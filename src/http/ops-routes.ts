/**
 * Operator endpoints: liveness, readiness, metrics, the OpenAPI document, the
 * node's view of the cluster, and the status page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './respond.js';
import type { NodeMetrics } from './metrics.js';
import { NODE_OPENAPI } from './openapi.js';
import { renderStatusPage, STATUS_PAGE_CSP } from './status-page.js';
import { countsPerNode } from './cluster-fanout.js';
import type { ClusterView } from './cluster-view.js';
import type { Dialing } from '../tls.js';

export interface OpsContext {
  metrics: NodeMetrics;
  cluster: () => ClusterView;
  readiness: () => { ready: boolean; reason: string };
  /** how `/cluster?nodes=1` dials peers (https with the node's CA when it has TLS); plain http when unset */
  dialing?: Dialing;
}

export function handleHealthz(_ctx: OpsContext, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok' });
}

export function handleReadyz(ctx: OpsContext, _req: IncomingMessage, res: ServerResponse): void {
  const { ready, reason } = ctx.readiness();
  if (ready) sendJson(res, 200, { status: 'ready', reason });
  else sendJson(res, 503, { error: { code: 'CDN_ERR_NOT_READY', message: reason } });
}

export async function handleMetrics(ctx: OpsContext, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = await ctx.metrics.registry.metrics();
  res.statusCode = 200;
  res.setHeader('Content-Type', ctx.metrics.registry.contentType);
  res.end(text);
}

export function handleOpenApi(_ctx: OpsContext, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, NODE_OPENAPI);
}

/** `?nodes=1` adds `nodes`: each live peer's own blob and byte counts (for the status page). */
export async function handleCluster(ctx: OpsContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const view = ctx.cluster();
  const wantNodes = new URL(req.url ?? '/', 'http://node').searchParams.get('nodes') === '1';
  sendJson(res, 200, wantNodes ? { ...view, nodes: await countsPerNode(view, Date.now(), ctx.dialing) } : view);
}

export function handleStatusPage(ctx: OpsContext, _req: IncomingMessage, res: ServerResponse): void {
  const html = renderStatusPage(ctx.cluster());
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', STATUS_PAGE_CSP);
  res.end(html);
}
