/**
 * Per-request bookkeeping shared by the fast path and express: a request id
 * (echoed from a sane X-Request-Id, or made here), and metrics once answered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { NodeMetrics } from './metrics.js';

const PREFIX = randomBytes(4).toString('hex');
let counter = 0;
const SANE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_ID.test(given) ? given : `${PREFIX}-${(counter++).toString(36)}`;
}

export function instrument(metrics: NodeMetrics, req: IncomingMessage, res: ServerResponse, route: () => string | undefined): void {
  res.setHeader('X-Request-Id', requestId(req));
  const done = metrics.observe(req.method ?? 'GET');
  res.once('finish', () => {
    const bytesIn = Number(req.headers['content-length'] ?? 0) || 0;
    const bytesOut = Number(res.getHeader('content-length') ?? 0) || 0;
    done(route() ?? 'unmatched', res.statusCode, bytesIn, bytesOut);
  });
}
