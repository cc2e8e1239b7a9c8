/**
 * Writing answers on a raw ServerResponse, so the same helpers serve the
 * express routes and the lean GET fast path.
 */
import type { ServerResponse } from 'node:http';
import { errorBody } from '../errors.js';
import type { Logger } from '../log.js';

const ENTITY_HEADERS = ['etag', 'last-modified', 'content-type', 'content-length', 'content-range', 'cache-control', 'accept-ranges', 'x-sibling-count'];

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Answers with the JSON error shape. Unknown errors are logged and become
 * CDN_ERR_INTERNAL. If headers already went out, the connection is cut so the
 * client sees a truncated body rather than a wrong one.
 */
export function sendError(res: ServerResponse, err: unknown, logger: Logger, extraHeaders: Record<string, string | number> = {}): void {
  if (res.headersSent) {
    // Too late for an error answer: cut the connection so the client sees a
    // short body. A client that went away is not worth more than a debug line.
    const gone = (err as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
    const requestId = res.getHeader('x-request-id');
    if (gone) logger.debug({ err, requestId }, 'client went away mid-response');
    else logger.warn({ err, requestId }, 'response cut off after its headers were sent');
    res.destroy();
    return;
  }
  const { status, body } = errorBody(err);
  if (status >= 500) logger.error({ err, requestId: res.getHeader('x-request-id') }, 'request failed');
  // Headers that described the blob would describe the error body wrongly.
  for (const name of ENTITY_HEADERS) res.removeHeader(name);
  sendJson(res, status, body, extraHeaders);
}
