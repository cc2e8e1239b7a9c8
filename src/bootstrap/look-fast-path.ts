/**
 * `GET /look` without express's router: the call every node makes most often
 * after heartbeats, answered by the same lookAnswer() and the same error
 * answer as the express route, parsed with the same query parser express
 * uses ('simple' = node:querystring). bench/point measures it against a bare
 * node:http + EVALSHA floor.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { PointContext } from './context.js';
import { lookAnswer } from './routes.js';
import { sendPointError } from './app.js';

const PREFIX = '/look?';

/** Answers GET /look?… and returns true, or returns false for any other request. */
export function handleLookFast(ctx: PointContext, req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url ?? '';
  if (req.method !== 'GET' || !url.startsWith(PREFIX)) return false;
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    ctx.metrics.requests.inc({ route: '/look', method: 'GET', status: String(res.statusCode) });
    ctx.metrics.duration.observe({ route: '/look' }, Number(process.hrtime.bigint() - started) / 1e9);
  });
  lookAnswer(ctx, { ...parseQuery(url.slice(PREFIX.length)) }).then((nodes) => {
    const text = JSON.stringify(nodes);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  }, (err: unknown) => sendPointError(ctx, err, 'GET', '/look', res));
  return true;
}
