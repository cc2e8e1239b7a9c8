/**
 * The node-to-node endpoints. Every request is signed and its sender
 * admitted (src/gossip/runtime.ts `authenticate`) before anything else;
 * bodies are bounded; anything malformed is 400 GOSSIP_ERR_BAD_MESSAGE and
 * counts against the sender. Shapes: proposals/0001-gossip-protocol.md.
 *
 * - POST /gossip/message        one gossip message (messages.ts), 204
 * - POST /gossip/revocations    a `revocations` message (client-token revocations), 204
 * - GET  /gossip/bodies/{sha256} a verified body stream
 * - GET  /gossip/keys/{guid}     this node's versions of a key (read-through)
 * - PUT  /gossip/stage/{sha256}  a staged write (write copies > 1), 204 once durable
 *
 * Rate limits (http/rate-limits.ts), when given: per address before anything
 * is read or verified, then per sending node id once its signature holds;
 * 429 GOSSIP_ERR_RATE_LIMITED with Retry-After either way.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { CdnError } from '../errors.js';
import { normaliseIp } from '../bootstrap/caller.js';
import type { GossipRuntime } from '../gossip/shell/runtime.js';
import { LIMITS } from '../gossip/core/messages.js';
import { MESSAGE_PATH, REVOCATIONS_PATH, STAGE_VERSION_HEADER, stageSignedMaterial } from '../gossip/shell/http-transport.js';
import { TIME_HEADER } from '../gossip/shell/signing.js';
import { versionSchema } from '../consensus/schema.js';
import type { Version } from '../consensus/types.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Logger } from '../log.js';
import { parseGuid } from './request-headers.js';
import { sendError, sendJson } from './respond.js';
import { rateLimited, type NodeLimiters } from './rate-limits.js';
import type { AdmittedSender } from '../gossip/shell/runtime.js';

const EMPTY = Buffer.alloc(0);
const SHA256_HEX = /^[0-9a-f]{64}$/;

function peerIp(req: Request): string {
  const ip = normaliseIp(req.socket.remoteAddress);
  if (ip === undefined) throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'no peer address');
  return ip;
}

export function gossipRoutes(gossip: GossipRuntime, store: BlobStore, logger: Logger, limits?: Pick<NodeLimiters, 'gossipAddress' | 'gossipPeer'>): Router {
  const router = Router();
  // Every answer, refusals too, carries this node's wall clock: a peer whose clock is off learns by how much.
  router.use('/gossip', (req: Request, res: Response, next: NextFunction) => {
    res.setHeader(TIME_HEADER, String(gossip.wall.now()));
    const wait = limits?.gossipAddress.takeFor(req.socket) ?? 0;
    if (wait > 0) {
      if (!req.complete) res.setHeader('Connection', 'close');
      throw rateLimited('GOSSIP_ERR_RATE_LIMITED', wait, 'this address');
    }
    next();
  });

  /** Verifies the signature and admits the sender (runtime.authenticate), then counts the request against its id. */
  const authenticate = async (req: Request, method: string, path: string, body: Buffer, ip: string): Promise<AdmittedSender> => {
    const sender = await gossip.authenticate(req.headers, method, path, body, ip);
    const wait = limits?.gossipPeer.take(sender.id) ?? 0;
    if (wait > 0) throw rateLimited('GOSSIP_ERR_RATE_LIMITED', wait, `node ${sender.id}`);
    return sender;
  };

  for (const path of [MESSAGE_PATH, REVOCATIONS_PATH]) {
    router.post(path, express.raw({ type: () => true, limit: LIMITS.maxMessageBytes }), async (req: Request, res: Response) => {
      const ip = peerIp(req);
      const body = Buffer.isBuffer(req.body) ? req.body : EMPTY;
      const sender = await authenticate(req, 'POST', path, body, ip);
      await gossip.receive(body, sender, ip);
      res.status(204).end();
    });
  }

  router.get('/gossip/bodies/:sha', async (req: Request, res: Response) => {
    await authenticate(req, 'GET', req.path, EMPTY, peerIp(req));
    const sha = String(req.params.sha);
    if (!SHA256_HEX.test(sha)) throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'not a sha256');
    const body = store.body(sha);
    if (body === undefined) throw new CdnError('CDN_ERR_BODY_UNAVAILABLE', `body ${sha} is not held here`);
    const stream = await store.openBody(sha, 0, body.size - 1);
    res.status(200);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', body.size);
    await pipeline(stream, res);
    gossip.bodyBytesServed += body.size;
  });

  // A staged write (write copies > 1): the writer's version in a header, its body streamed, both kept durably but not visible.
  router.put('/gossip/stage/:sha', async (req: Request, res: Response) => {
    const ip = peerIp(req);
    const sha = String(req.params.sha);
    const header = req.headers[STAGE_VERSION_HEADER];
    if (!SHA256_HEX.test(sha) || typeof header !== 'string' || header.length > 64 * 1024) throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'a staged write needs a sha256 path and one version header');
    const sender = await authenticate(req, 'PUT', req.path, Buffer.from(stageSignedMaterial(header, sha)), ip);
    let version: Version;
    try {
      version = versionSchema.parse(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')));
    } catch {
      throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'the staged version does not parse');
    }
    if (version.sha256 !== sha || version.origin !== sender.id) throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'a node stages only its own writes, under their sha256');
    gossip.admitStaged(version, sender, ip);
    if (version.size > store.options.maxBlobBytes) throw new CdnError('CDN_ERR_TOO_LARGE', `a staged body of ${version.size} bytes is over this node's maximum`);
    await store.stageRemote(version, version.tombstone ? undefined : req);
    if (!version.tombstone) gossip.bodyBytesStagedReceived += version.size;
    res.status(204).end();
  });

  router.get('/gossip/keys/:guid', async (req: Request, res: Response) => {
    await authenticate(req, 'GET', req.path, EMPTY, peerIp(req));
    const key = parseGuid(String(req.params.guid));
    // a key held back while this node rejoins is not offered here either (tombstones.ts)
    // unsigned versions (written before versions were signed, by another node) stay here: peers would refuse them
    const versions = gossip.core.tombstones.mayOffer(key) ? store.siblings(key).filter((v) => v.signature !== undefined) : [];
    sendJson(res, 200, { versions, held: versions.filter((v) => !v.tombstone && store.hasBody(v.sha256)).map((v) => v.sha256) });
  });

  router.all('/gossip/{*rest}', () => {
    throw new CdnError('CDN_ERR_ROUTE_NOT_FOUND');
  });

  // Node-to-node errors: malformed or oversized input is a bad message (400), never a 5xx or a crash.
  router.use('/gossip', (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown } | undefined)?.status;
    const known = err instanceof CdnError ? err
      : typeof status === 'number' && status >= 400 && status < 500 ? new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'malformed or oversized request') : err;
    if (!res.headersSent && known instanceof CdnError && known.status === 429) res.setHeader('Retry-After', String(known.details?.retryAfter ?? 1));
    sendError(res, known, logger);
  });
  return router;
}
