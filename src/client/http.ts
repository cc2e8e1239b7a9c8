/**
 * The client's HTTP calls, all through one undici pool with bounded waits:
 * a connect timeout, a timeout for the response headers, and a stall timeout
 * on bodies in both directions (no bytes for that long aborts the transfer).
 */
import { Agent, request, type Dispatcher } from 'undici';
import { ClientError, EXIT, requestFailure } from './errors.js';

export interface ClientTimeouts {
  connectMs: number;
  headersMs: number;
  /** no body bytes moving (up or down) for this long aborts the transfer */
  stallMs: number;
}

export const DEFAULT_TIMEOUTS: ClientTimeouts = { connectMs: 5_000, headersMs: 30_000, stallMs: 30_000 };

export const DEFAULT_NODE_URL = 'http://127.0.0.1:7000';

let agent: Agent | undefined;

function dispatcher(t: ClientTimeouts): Agent {
  agent ??= new Agent({ connect: { timeout: t.connectMs }, headersTimeout: t.headersMs, bodyTimeout: t.stallMs });
  return agent;
}

export async function closeClient(): Promise<void> {
  await agent?.close();
  agent = undefined;
}

/** `http://host:port` + path; refuses anything that is not an http(s) URL, in one line. */
export function nodeUrl(base: string, path: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ClientError(`--node (NODE_URL): not a URL: ${base}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClientError(`--node (NODE_URL): must be an http:// or https:// URL, not ${base}`);
  return new URL(path, url.href.endsWith('/') ? url.href : `${url.href}/`).href;
}

export interface CallOptions {
  body?: Dispatcher.DispatchOptions['body'];
  headers?: Record<string, string>;
  signal?: AbortSignal;
  timeouts?: ClientTimeouts;
}

export type ClientResponse = Dispatcher.ResponseData;

/** The error body the node sends (`{"error":{"code","message"}}`), read with a size cap. */
async function errorText(res: ClientResponse): Promise<string> {
  let text = '';
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (text.length < 4096) text += chunk.toString('utf8');
  }
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code !== undefined) return `${parsed.error.code} ${parsed.error.message ?? ''}`.trim();
  } catch { /* not JSON */ }
  return text.trim().slice(0, 200);
}

/**
 * One request. Resolves with the response when its status is one of `ok`;
 * otherwise throws a one-line ClientError (`GET url: 404 CDN_ERR_NOT_FOUND ...`).
 */
export async function call(method: Dispatcher.HttpMethod, url: string, ok: number[], options: CallOptions = {}): Promise<ClientResponse> {
  const what = `${method} ${url}`;
  let res: ClientResponse;
  try {
    res = await request(url, {
      method,
      body: options.body,
      headers: options.headers,
      signal: options.signal,
      dispatcher: dispatcher(options.timeouts ?? DEFAULT_TIMEOUTS),
    });
  } catch (err) {
    throw requestFailure(what, options.signal?.aborted === true ? options.signal.reason : err);
  }
  if (ok.includes(res.statusCode)) return res;
  const detail = await errorText(res).catch(() => '');
  const exitCode = res.statusCode === 404 ? EXIT.notFound : EXIT.other;
  throw new ClientError(`${what}: ${res.statusCode}${detail === '' ? '' : ` ${detail}`}`, exitCode);
}
