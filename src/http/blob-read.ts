/**
 * GET and HEAD of /blobs/{guid}: headers, conditional requests (RFC 9110
 * §13.2.2 order), single and multiple ranges, verified bodies. Written
 * against node:http's request and response so the server can call it
 * straight from its fast path or from express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { CdnError } from '../errors.js';
import { contextOf } from '../consensus/versions.js';
import { formatVectorClockHeader } from '../consensus/vector-clock.js';
import type { SiblingSet, Version } from '../consensus/types.js';
import { decideRanges, planMultipart, type ByteRange } from './ranges.js';
import { parseEtagList, parseGuid, parseHttpDate, strongMatch, weakMatch } from './request-headers.js';
import { sendError } from './respond.js';
import type { BlobApiContext } from './blob-context.js';

/** Vector-Clock header per sibling set: sets are immutable, so the text is computed once. */
const contextHeaders = new WeakMap<SiblingSet, string>();

export function contextHeader(siblings: SiblingSet): string {
  let text = contextHeaders.get(siblings);
  if (text === undefined) {
    text = formatVectorClockHeader(contextOf(siblings));
    contextHeaders.set(siblings, text);
  }
  return text;
}

export function etagOf(version: Version): string {
  return `"${version.sha256}"`;
}

function lastModifiedSeconds(version: Version): number {
  return Math.floor(version.timestamp.wall / 1000);
}

/** Handles GET/HEAD /blobs/{guid}; `rawGuid` is the path segment as sent. */
export async function handleBlobRead(ctx: BlobApiContext, req: IncomingMessage, res: ServerResponse, rawGuid: string): Promise<void> {
  try {
    await readBlob(ctx, req, res, rawGuid);
  } catch (err) {
    const headers: Record<string, string | number> = {};
    if (err instanceof CdnError && err.code === 'CDN_ERR_RANGE_NOT_SATISFIABLE') headers['Content-Range'] = `bytes */${String(err.details?.size ?? '*')}`;
    sendError(res, err, ctx.logger, headers);
  }
}

async function readBlob(ctx: BlobApiContext, req: IncomingMessage, res: ServerResponse, rawGuid: string): Promise<void> {
  const key = parseGuid(rawGuid);
  // Held back by a pull-only rejoin: what is here may have been deleted meanwhile. The witnesses
  // are asked at once and the read waits for them (bounded); if they have still not settled it,
  // the version here is not served: 503, retry.
  const rejoin = ctx.cluster?.settleRejoin(key);
  if (rejoin !== undefined && await rejoin) {
    res.setHeader('Retry-After', '1');
    throw new CdnError('CDN_ERR_NOT_READY', `rejoining after a long absence: blob ${key} is being confirmed with peers`);
  }
  let siblings = ctx.store.siblings(key);
  // Never heard of it here: a few peers may have (read-through).
  if (siblings.length === 0 && ctx.cluster !== undefined && await ctx.cluster.lookup(key)) siblings = ctx.store.siblings(key);
  // The store keeps every sibling set canonical: the winner is first.
  const winner = siblings[0];
  if (winner === undefined || winner.tombstone) {
    if (winner !== undefined) res.setHeader('Vector-Clock', contextHeader(siblings));
    throw new CdnError('CDN_ERR_NOT_FOUND', winner === undefined ? `no blob ${key}` : `blob ${key} was deleted`);
  }
  const etag = etagOf(winner);
  const modified = lastModifiedSeconds(winner);

  // Preconditions, in the order RFC 9110 §13.2.2 gives.
  const ifMatch = parseEtagList(req, 'if-match');
  if (ifMatch !== undefined) {
    if (!strongMatch(ifMatch, winner.sha256)) throw new CdnError('CDN_ERR_PRECONDITION_FAILED', `If-Match does not match ${etag}`);
  } else {
    const since = parseHttpDate(req, 'if-unmodified-since');
    if (since !== undefined && modified > since) throw new CdnError('CDN_ERR_PRECONDITION_FAILED', 'modified since If-Unmodified-Since');
  }

  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', new Date(modified * 1000).toUTCString());
  res.setHeader('Cache-Control', winner.cacheControl ?? ctx.defaultCacheControl);
  res.setHeader('Vector-Clock', contextHeader(siblings));
  res.setHeader('Accept-Ranges', 'bytes');
  if (siblings.length > 1) res.setHeader('X-Sibling-Count', siblings.length);

  const ifNoneMatch = parseEtagList(req, 'if-none-match');
  const notModified = ifNoneMatch !== undefined
    ? weakMatch(ifNoneMatch, winner.sha256)
    : (() => { const since = parseHttpDate(req, 'if-modified-since'); return since !== undefined && modified <= since; })();
  if (notModified) {
    res.statusCode = 304;
    res.end();
    return;
  }

  // Range, unless If-Range names another representation.
  let rangeHeader = req.headers.range;
  if (rangeHeader !== undefined) {
    const rawIfRange = req.headers['if-range'];
    if (rawIfRange !== undefined) {
      const ifRange = (Array.isArray(rawIfRange) ? rawIfRange.join(',') : rawIfRange).trim();
      const valid = ifRange.startsWith('"') || ifRange.startsWith('W/')
        ? strongMatch(parseEtagList(req, 'if-range') ?? [], winner.sha256)
        : Math.floor(Date.parse(ifRange) / 1000) === modified;
      if (!valid) rangeHeader = undefined;
    }
  }
  const decision = decideRanges(rangeHeader, winner.size);
  // Known here but the body is not: fetch it from a holder (when this node owns
  // it or may cache it), else stream it from an owner. HEAD needs no body.
  const cluster = ctx.cluster;
  const remote: BodyOpener | undefined = cluster === undefined ? undefined : (start, end) => cluster.openRemoteBody(winner, start, end);
  // The local copy, unless it went since it was looked for: a copy this node does not own is
  // dropped once its owners confirm, and a cached one can be evicted, at any await below. Then an
  // owner streams it (a chaos run found a final read answered 503 on a node whose hand-off copy
  // went between the check and the open). hasBody and the open's own check run in one tick.
  let source: BodyOpener = (start, end) =>
    remote !== undefined && !ctx.store.hasBody(winner.sha256) ? remote(start, end) : ctx.store.openBody(winner.sha256, start, end);
  const heldHere = ctx.cache.has(winner.sha256) || ctx.store.hasBody(winner.sha256);
  if (req.method !== 'HEAD' && heldHere) cluster?.touched(winner.sha256);
  if (req.method !== 'HEAD' && !heldHere && !(await cluster?.obtainBody(winner) ?? false)) {
    if (remote === undefined) throw new CdnError('CDN_ERR_BODY_UNAVAILABLE', `the body of ${key} is not held here`);
    source = remote;
  }

  if (decision.kind === 'full') {
    res.statusCode = 200;
    res.setHeader('Content-Type', winner.contentType);
    await sendRange(ctx, req, res, winner, { start: 0, end: winner.size - 1 }, winner.size, source);
    return;
  }
  const [only] = decision.ranges;
  if (decision.ranges.length === 1 && only !== undefined) {
    res.statusCode = 206;
    res.setHeader('Content-Type', winner.contentType);
    res.setHeader('Content-Range', `bytes ${only.start}-${only.end}/${winner.size}`);
    await sendRange(ctx, req, res, winner, only, only.end - only.start + 1, source);
    return;
  }
  const plan = planMultipart(decision.ranges, winner.size, winner.contentType);
  res.statusCode = 206;
  res.setHeader('Content-Type', plan.contentType);
  res.setHeader('Content-Length', plan.contentLength);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // Open every part first so a corrupt body is reported before any byte goes out.
  const whole = ctx.cache.get(winner.sha256) ?? (ctx.cache.fits(winner.size) ? await loadSmall(ctx, winner, source) : undefined);
  const parts: (Buffer | Readable)[] = [];
  for (const r of decision.ranges) parts.push(whole !== undefined ? whole.subarray(r.start, r.end + 1) : await source(r.start, r.end));
  async function* multipart(): AsyncGenerator<Buffer> {
    for (let i = 0; i < parts.length; i++) {
      yield plan.heads[i] as Buffer;
      const part = parts[i] as Buffer | Readable;
      if (Buffer.isBuffer(part)) yield part;
      else for await (const chunk of part) yield chunk as Buffer;
    }
    yield plan.tail;
  }
  await pipeline(multipart, res);
}

/** A verified stream of bytes [start, end] of the body: from the disk, or from an owner. */
type BodyOpener = (start: number, end: number) => Promise<Readable>;

/** A small body, whole and verified before a byte of it is sent, kept in the memory cache. */
async function loadSmall(ctx: BlobApiContext, version: Version, source: BodyOpener): Promise<Buffer> {
  let body: Buffer;
  if (ctx.store.hasBody(version.sha256)) {
    body = await ctx.store.readBody(version.sha256);
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of await source(0, version.size - 1)) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks);
  }
  ctx.cache.set(version.sha256, body);
  return body;
}

async function sendRange(ctx: BlobApiContext, req: IncomingMessage, res: ServerResponse, version: Version, range: ByteRange, length: number, source: BodyOpener): Promise<void> {
  res.setHeader('Content-Length', length);
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  const cached = ctx.cache.get(version.sha256) ?? (ctx.cache.fits(version.size) ? await loadSmall(ctx, version, source) : undefined);
  if (cached !== undefined) {
    res.end(range.start === 0 && range.end === cached.length - 1 ? cached : cached.subarray(range.start, range.end + 1));
    return;
  }
  const stream = await source(range.start, range.end);
  ctx.metrics?.bodyStreamsStarted();
  await pipeline(stream, res);
}
