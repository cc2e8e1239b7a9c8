/**
 * The node's express app: every route of SPEC §3.2 but the hot GET path,
 * which server.ts also serves directly (same handler, less per-request cost).
 * Building the app is separate from listening, so tests can listen on port 0.
 */
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { CdnError } from '../errors.js';
import type { BlobApiContext } from './blob-context.js';
import { handleBlobRead } from './blob-read.js';
import { closeIfBodyUnread, handleDelete, handlePost, handlePut } from './blob-write.js';
import { handleList, handleVersions } from './blob-meta.js';
import { handleCluster, handleHealthz, handleMetrics, handleOpenApi, handleReadyz, handleStatusPage, type OpsContext } from './ops-routes.js';
import { sendError } from './respond.js';
import { instrument } from './instrument.js';
import { blobNeed } from '../auth/guard.js';
import { handleRevocation } from '../auth/routes.js';

function methodNotAllowed(allow: string) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Allow', allow);
    throw new CdnError('CDN_ERR_METHOD_NOT_ALLOWED', `allowed: ${allow}`);
  };
}

export function createNodeApp(ctx: BlobApiContext, ops: OpsContext, gossip?: Router): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    instrument(ctx.metrics, req, res, () => req.route?.path as string | undefined);
    next();
  });

  if (gossip !== undefined) app.use(gossip);

  app.get('/', (req, res) => handleStatusPage(ops, req, res));
  app.get('/healthz', (req, res) => handleHealthz(ops, req, res));
  app.get('/readyz', (req, res) => handleReadyz(ops, req, res));
  app.get('/metrics', (req, res) => handleMetrics(ops, req, res));
  app.get('/openapi.json', (req, res) => handleOpenApi(ops, req, res));
  app.get('/cluster', (req, res) => handleCluster(ops, req, res));

  app.post('/auth/revocations', (req, res) => handleRevocation(ctx.auth, req, res));
  app.all('/auth/revocations', methodNotAllowed('POST'));

  const { auth } = ctx;
  if (auth !== undefined) {
    // client tokens (src/auth/guard.ts): before any blob route reads a byte
    app.use('/blobs', (req, res, next) => {
      const needed = blobNeed(req.method, req.path, auth.privateReads);
      if (needed === undefined) { next(); return; }
      auth.authorize(req, res, needed.need, needed.query).then(() => next(), next);
    });
  }

  app.get('/blobs', (req, res) => handleList(ctx, new URL(req.originalUrl, 'http://node'), res));
  app.post('/blobs', (req, res) => handlePost(ctx, req, res));
  app.all('/blobs', methodNotAllowed('GET, HEAD, POST'));

  app.get('/blobs/:guid/versions', (req, res) => handleVersions(ctx, req, res, req.params.guid));
  app.all('/blobs/:guid/versions', methodNotAllowed('GET, HEAD'));

  app.get('/blobs/:guid', (req, res) => handleBlobRead(ctx, req, res, req.params.guid));
  app.put('/blobs/:guid', (req, res) => handlePut(ctx, req, res, req.params.guid));
  app.delete('/blobs/:guid', (req, res) => handleDelete(ctx, req, res, req.params.guid));
  app.all('/blobs/:guid', methodNotAllowed('GET, HEAD, PUT, DELETE'));

  app.use(() => {
    throw new CdnError('CDN_ERR_ROUTE_NOT_FOUND');
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    closeIfBodyUnread(req, res);
    // express's own 4xx (e.g. a path that does not percent-decode) keep their status class
    const status = (err as { status?: unknown } | undefined)?.status;
    const known = err instanceof CdnError ? err
      : typeof status === 'number' && status >= 400 && status < 500 ? new CdnError('CDN_ERR_BAD_GUID', 'the path does not decode to a GUID') : err;
    const allow = res.getHeader('Allow');
    sendError(res, known, ctx.logger, allow === undefined ? {} : { Allow: String(allow) });
  });
  return app;
}
