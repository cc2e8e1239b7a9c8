/**
 * PUT /blobs/{guid}, POST /blobs and DELETE /blobs/{guid}. Headers are
 * checked before a byte of the body is read; preconditions are checked then
 * and again at commit under the key's lock (a lost race is 409).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { v4 as uuidv4 } from 'uuid';
import { CdnError } from '../errors.js';
import type { SiblingSet, Version } from '../consensus/types.js';
import { contextOf, liveWinner } from '../consensus/versions.js';
import { formatVectorClockHeader } from '../consensus/vector-clock.js';
import type { CheckPhase, WriteResult } from '../storage/types.js';
import type { BlobApiContext } from './blob-context.js';
import {
  declaredLength, expectedSha256, parseCacheControl, parseContentType, parseEtagList, parseGuid, parseVectorClock, strongMatch, weakMatch,
} from './request-headers.js';
import { sendJson } from './respond.js';
import { UploadGuard } from './upload-guard.js';
import { etagOf } from './blob-read.js';
import { tokenIdOf } from '../auth/guard.js';

/** The preconditions of a write, checked against the key's siblings before the body and at commit. */
function writePreconditions(req: IncomingMessage): ((current: SiblingSet, phase: CheckPhase) => void) | undefined {
  const ifMatch = parseEtagList(req, 'if-match');
  const ifNoneMatch = parseEtagList(req, 'if-none-match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return (current, phase) => {
    const winner = liveWinner(current);
    const fail = (why: string): never => {
      throw phase === 'commit'
        ? new CdnError('CDN_ERR_CONFLICT', `${why} (a concurrent write changed the key while the body was uploading)`)
        : new CdnError('CDN_ERR_PRECONDITION_FAILED', why);
    };
    if (ifMatch !== undefined && (winner === undefined || !strongMatch(ifMatch, winner.sha256))) {
      fail(winner === undefined ? 'If-Match: the key has no live version' : `If-Match does not match the current ${etagOf(winner)}`);
    }
    if (ifNoneMatch !== undefined && winner !== undefined && weakMatch(ifNoneMatch, winner.sha256)) {
      fail(ifNoneMatch === '*' ? 'If-None-Match: * but the key exists' : `If-None-Match matches the current ${etagOf(winner)}`);
    }
  };
}

export function describeWrite(version: Version, siblings: SiblingSet): Record<string, unknown> {
  return {
    id: version.key,
    etag: etagOf(version),
    size: version.size,
    sha256: version.sha256,
    contentType: version.contentType,
    vectorClock: version.clock,
    siblings: siblings.length,
  };
}

function writeHeaders(result: WriteResult): Record<string, string> {
  return {
    ETag: etagOf(result.version),
    'Vector-Clock': formatVectorClockHeader(contextOf(result.siblings)),
  };
}

/** Writes wait while this node's clock disagrees with most of its peers (proposal 0011). */
function refuseWhileOff(ctx: BlobApiContext): void {
  const why = ctx.cluster?.writeRefused();
  if (why !== undefined) throw new CdnError('CDN_ERR_NOT_READY', `writes are refused here: ${why}`);
}

async function storeBody(ctx: BlobApiContext, req: IncomingMessage, key: string): Promise<WriteResult> {
  refuseWhileOff(ctx);
  const length = declaredLength(req);
  if (length !== undefined && length > ctx.maxBlobBytes) {
    throw new CdnError('CDN_ERR_TOO_LARGE', `Content-Length ${length} exceeds the maximum blob size of ${ctx.maxBlobBytes} bytes`);
  }
  const contentType = parseContentType(req);
  const cacheControl = parseCacheControl(req);
  const context = parseVectorClock(req);
  const expected = expectedSha256(req);
  const check = writePreconditions(req);
  const guard = new UploadGuard(req, ctx.minUploadBytesPerSecond, ctx.stallWindowMs);
  // The guard can fail before the store attaches to it (a client gone during
  // open()); the store's pipeline still sees the stored error.
  guard.on('error', () => undefined);
  req.pipe(guard);
  req.once('error', (err) => guard.destroy(err));
  try {
    return await ctx.store.put({ key, body: guard, contentType, cacheControl, context, expectedSha256: expected, check, replicate: ctx.cluster?.replicate, tokenId: tokenIdOf(req) });
  } catch (err) {
    if (!(err instanceof CdnError) && !req.complete) throw new CdnError('CDN_ERR_UPLOAD_ABORTED', 'the client closed the connection mid-upload', { cause: err });
    throw err;
  } finally {
    guard.destroy();
  }
}

/** Errors answered before the whole body was read must close the connection, or the rest would be parsed as a request. */
export function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  if (!req.complete) res.setHeader('Connection', 'close');
}

export async function handlePut(ctx: BlobApiContext, req: IncomingMessage, res: ServerResponse, rawGuid: string): Promise<void> {
  const key = parseGuid(rawGuid);
  const result = await storeBody(ctx, req, key);
  ctx.metrics.blobWritten(result.version.size);
  ctx.cluster?.published(result.version);
  sendJson(res, result.created ? 201 : 200, describeWrite(result.version, result.siblings), {
    ...writeHeaders(result),
    ...(result.created ? { Location: `/blobs/${key}` } : {}),
  });
}

export async function handlePost(ctx: BlobApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const key = uuidv4();
  const result = await storeBody(ctx, req, key);
  ctx.metrics.blobWritten(result.version.size);
  ctx.cluster?.published(result.version);
  sendJson(res, 201, describeWrite(result.version, result.siblings), { ...writeHeaders(result), Location: `/blobs/${key}` });
}

export async function handleDelete(ctx: BlobApiContext, req: IncomingMessage, res: ServerResponse, rawGuid: string): Promise<void> {
  const key = parseGuid(rawGuid);
  const context = parseVectorClock(req);
  const check = writePreconditions(req);
  refuseWhileOff(ctx);
  let current = ctx.store.siblings(key);
  // A key never heard of here may live elsewhere: learn it before deciding.
  if (current.length === 0 && ctx.cluster !== undefined && await ctx.cluster.lookup(key)) current = ctx.store.siblings(key);
  if (liveWinner(current) === undefined && context === undefined) {
    if (current.length > 0) {
      // Already deleted here: deleting again changes nothing.
      res.statusCode = 204;
      res.setHeader('Vector-Clock', formatVectorClockHeader(contextOf(current)));
      res.end();
      return;
    }
    throw new CdnError('CDN_ERR_NOT_FOUND', `no blob ${key}`);
  }
  const result = await ctx.store.delete({ key, context, check, replicate: ctx.cluster?.replicate, tokenId: tokenIdOf(req) });
  if (result !== undefined) ctx.cluster?.published(result.version);
  res.statusCode = 204;
  if (result !== undefined) res.setHeader('Vector-Clock', formatVectorClockHeader(contextOf(result.siblings)));
  res.end();
}
