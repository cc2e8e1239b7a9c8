/**
 * The node's HTTP server: node:http (node:https with --tls-cert) with
 * timeouts set for blob traffic, a
 * fast path that sends GET/HEAD /blobs/{guid} straight to its handler, and
 * the express app for everything else. Graceful close finishes in-flight
 * requests before it cuts what is left.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { BlobApiContext } from './blob-context.js';
import { handleBlobRead } from './blob-read.js';
import { sendError } from './respond.js';
import { instrument } from './instrument.js';
import { dropSilentConnections } from '../connection-guard.js';
import type { ServerLimits } from './server-config.js';
import { createListener, PLAIN, type HttpServer, type TlsSetup } from '../tls.js';
import type { RateLimiter } from '../rate-limit/limiter.js';
import { refusePublic } from './rate-limits.js';

/** `/blobs/` followed by exactly a 36-character GUID, no query. */
const FAST_PATH_LENGTH = '/blobs/'.length + 36;
const BLOB_ROUTE = '/blobs/:guid';

/** With `tls.server`, HTTPS only: a TLS handshake must finish within the headers timeout too. */
export function createNodeServer(ctx: BlobApiContext, app: Express, limits: ServerLimits, tls: TlsSetup = PLAIN, publicLimit?: RateLimiter): HttpServer {
  const server = createListener({
    // Uploads are paced by UploadGuard (minimum rate), never by a fixed deadline.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // node:http checks the headers timeout only this often (30 s by default, which
    // would let a slowloris hold a socket for headersTimeout + 30 s).
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
  }, tls, limits.headersTimeoutMs, (req: IncomingMessage, res: ServerResponse) => {
    // per client address, before anything else (the fast path included); /gossip/* has its own limits
    if (publicLimit !== undefined && refusePublic(publicLimit, req, res, ctx.logger)) return;
    const url = req.url ?? '/';
    if ((req.method === 'GET' || req.method === 'HEAD') && url.length === FAST_PATH_LENGTH && url.startsWith('/blobs/')) {
      instrument(ctx.metrics, req, res, () => BLOB_ROUTE);
      const guid = url.slice(7);
      // private reads (--private-reads) need a read token here too; public reads pay nothing
      if (ctx.auth?.privateReads === true) {
        ctx.auth.authorize(req, res, { action: 'read', blob: guid.toLowerCase() }, false)
          .then(() => handleBlobRead(ctx, req, res, guid), (err: unknown) => sendError(res, err, ctx.logger));
        return;
      }
      void handleBlobRead(ctx, req, res, guid);
      return;
    }
    app(req, res);
  });
  server.maxConnections = limits.maxConnections;
  dropSilentConnections(server, limits.headersTimeoutMs);
  return server;
}

export async function listen(server: HttpServer, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest. */
export async function closeGracefully(server: HttpServer, graceMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}
