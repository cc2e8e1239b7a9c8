/**
 * Builds the Point's express app (no listening here: `server.ts` does that,
 * and tests listen on port 0). Bodies are JSON of at most 16 KiB; every
 * error, including the body parser's and unknown routes, is the JSON shape
 * `{"error": {"code", "message"}}`; a 503 carries Retry-After.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { CdnError, errorBody } from '../errors.js';
import type { PointContext } from './context.js';
import { openApiDocument } from './openapi.js';
import { mountPointRoutes } from './routes.js';
import { MAX_BODY_BYTES, type HealthResult } from './schemas.js';
import { retryAfterSeconds } from '../rate-limit/token-bucket.js';

/** The calls a Sybil or report flood aims at: limited per address, before their body is read. */
const RATE_LIMITED = new Set(['/reg', '/reg/challenge', '/ban', '/remove']);

/** Every path the Point serves, with its method; other methods get 405. */
export const POINT_ROUTES: ReadonlyArray<readonly [method: 'get' | 'post', path: string]> = [
  ['post', '/reg'], ['post', '/reg/challenge'], ['post', '/heartbeat'], ['get', '/look'], ['get', '/check'], ['post', '/ban'],
  ['post', '/remove'], ['get', '/points'], ['get', '/healthz'], ['get', '/readyz'], ['get', '/metrics'], ['get', '/openapi.json'],
];

async function up(probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch {
    return false;
  }
}

async function health(ctx: PointContext): Promise<HealthResult> {
  const [registryUp, banlistUp] = await Promise.all([up(() => ctx.registry.ping()), up(() => ctx.banlist.ping())]);
  ctx.metrics.backendUp.set({ backend: 'registry', kind: ctx.registryKind }, registryUp ? 1 : 0);
  ctx.metrics.backendUp.set({ backend: 'banlist', kind: ctx.banlistKind }, banlistUp ? 1 : 0);
  return {
    status: registryUp && banlistUp ? 'ok' : 'degraded',
    registry: { kind: ctx.registryKind, up: registryUp },
    banlist: { kind: ctx.banlistKind, up: banlistUp },
  };
}

export function createPointApp(ctx: PointContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const openapi = JSON.stringify(openApiDocument());

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      ctx.metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) });
      ctx.metrics.duration.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!RATE_LIMITED.has(req.path)) return next();
    const wait = ctx.limiter.takeFor(req.socket);
    if (wait === 0) return next();
    ctx.metrics.rateLimited.inc({ reason: 'rate' });
    if (!req.complete) res.setHeader('Connection', 'close'); // the body is not worth reading
    throw new CdnError('POINT_ERR_RATE_LIMITED', undefined, { details: { retryAfter: retryAfterSeconds(wait) } });
  });
  // JSON APIs need no ETag (express would hash every answer to make one)
  app.set('etag', false);
  const json = express.json({ limit: MAX_BODY_BYTES, type: 'application/json', strict: true });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'POST') json(req, res, next);
    else next();
  });

  // Liveness: always 200 while the process serves; says which backend is down.
  app.get('/healthz', async (_req, res) => {
    res.json(await health(ctx));
  });
  // Readiness: 503 while a backend is down.
  app.get('/readyz', async (_req, res) => {
    const result = await health(ctx);
    res.status(result.status === 'ok' ? 200 : 503).json(result);
  });
  app.get('/metrics', async (_req, res) => {
    ctx.metrics.bannedAddresses.set(ctx.banCache.size);
    ctx.metrics.limiterEntries.set(ctx.limiter.size);
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  mountPointRoutes(app, ctx);

  for (const path of new Set(POINT_ROUTES.map(([, p]) => p))) {
    app.all(path, () => {
      throw new CdnError('POINT_ERR_METHOD_NOT_ALLOWED');
    });
  }
  app.use(() => {
    throw new CdnError('POINT_ERR_ROUTE_NOT_FOUND');
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (errorStatus(err) === 405) res.setHeader('Allow', POINT_ROUTES.filter(([, p]) => p === req.path).map(([m]) => m.toUpperCase()).join(', '));
    sendPointError(ctx, err, req.method, req.path, res);
  });
  return app;
}

function errorStatus(err: unknown): number {
  return errorBody(translate(err), 'POINT_ERR_INTERNAL').status;
}

/**
 * The JSON error answer, shared by the express app and the /look fast path:
 * a 5xx carries a request id that the log line repeats, a 503 Retry-After.
 */
export function sendPointError(ctx: PointContext, err: unknown, method: string, path: string, res: ServerResponse): void {
  const { status, body } = errorBody(translate(err), 'POINT_ERR_INTERNAL');
  if (status >= 500) {
    const requestId = randomUUID();
    body.error.details = { ...body.error.details, requestId };
    res.setHeader('X-Request-Id', requestId);
    ctx.logger[status === 503 ? 'warn' : 'error']({ err: err instanceof Error ? err.message : String(err), method, path, requestId }, body.error.code);
  }
  if (status === 503) res.setHeader('Retry-After', '1');
  if (status === 429) res.setHeader('Retry-After', String(body.error.details?.retryAfter ?? 1));
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Body-parser failures carry `type`; they become our codes. */
function translate(err: unknown): unknown {
  if (err instanceof CdnError) return err;
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') return new CdnError('POINT_ERR_BODY_TOO_LARGE');
  if (typeof type === 'string' && (type.startsWith('entity.') || type.endsWith('.unsupported') || type === 'request.aborted')) {
    return new CdnError('POINT_ERR_BAD_REQUEST', `the body is not valid JSON (${type})`);
  }
  return err;
}
