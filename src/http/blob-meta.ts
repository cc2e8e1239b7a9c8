/**
 * GET /blobs/{guid}/versions and GET /blobs (the paged listing).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CdnError } from '../errors.js';
import { contextOf, pickWinner } from '../consensus/versions.js';
import { formatVectorClockHeader } from '../consensus/vector-clock.js';
import type { Version } from '../consensus/types.js';
import type { BlobApiContext } from './blob-context.js';
import { parseGuid } from './request-headers.js';
import { sendJson } from './respond.js';
import { etagOf } from './blob-read.js';

export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;

function describeVersion(ctx: BlobApiContext, v: Version): Record<string, unknown> {
  return {
    etag: etagOf(v),
    sha256: v.sha256,
    size: v.size,
    contentType: v.contentType,
    ...(v.cacheControl === undefined ? {} : { cacheControl: v.cacheControl }),
    vectorClock: v.clock,
    timestamp: new Date(v.timestamp.wall).toISOString(),
    hlc: v.timestamp,
    origin: v.origin,
    tombstone: v.tombstone,
    bodyHeld: ctx.store.hasBody(v.sha256),
    // the nodes that own the body, as this node sees the cluster (proposals/0010-placement.md)
    ...(v.tombstone || ctx.cluster === undefined ? {} : { owners: ctx.cluster.owners(v.sha256) }),
  };
}

export function handleVersions(ctx: BlobApiContext, _req: IncomingMessage, res: ServerResponse, rawGuid: string): void {
  const key = parseGuid(rawGuid);
  const siblings = ctx.store.siblings(key);
  const winner = pickWinner(siblings);
  if (winner === undefined) throw new CdnError('CDN_ERR_NOT_FOUND', `no version of ${key} is known here`);
  const context = contextOf(siblings);
  sendJson(res, 200, {
    id: key,
    deleted: winner.tombstone,
    vectorClock: context,
    winner: describeVersion(ctx, winner),
    siblings: siblings.slice(1).map((v) => describeVersion(ctx, v)),
  }, { 'Vector-Clock': formatVectorClockHeader(context) });
}

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT),
  cursor: z.string().max(128).regex(/^[A-Za-z0-9_-]+$/, 'not a cursor this node gave out').optional(),
});

export function handleList(ctx: BlobApiContext, url: URL, res: ServerResponse): void {
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    if (k in query) throw new CdnError('CDN_ERR_BAD_QUERY', `query parameter ${k} given twice`);
    query[k] = v;
  }
  const parsed = listQuery.safeParse(query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CdnError('CDN_ERR_BAD_QUERY', `${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid'}`);
  }
  const page = ctx.store.list(parsed.data.limit, parsed.data.cursor);
  sendJson(res, 200, {
    items: page.items.map((i) => ({ id: i.id, etag: `"${i.etag}"`, size: i.size, contentType: i.contentType })),
    nextCursor: page.nextCursor ?? null,
  });
}
