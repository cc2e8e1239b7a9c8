/**
 * The client's HTTP calls, with bounded waits: the response headers must come
 * within `headersMs` (connecting included), and a stall timeout on bodies in
 * both directions (no bytes for that long aborts the transfer; see meter.ts).
 *
 * Calls go through Node's built-in fetch, which is undici bundled into Node:
 * the npm copy of undici costs about 0.1 s to load, longer than the rest of a
 * `gossip-cdn get` start-up together, while the built-in one is part of the
 * runtime (proposals/0009, "Start-up"). The nodes and the Point client, which
 * keep pools open for hours, use the npm undici with its keep-alive agents.
 *
 * `https://` nodes are verified against the system CAs (and
 * NODE_EXTRA_CA_CERTS, which the built-in fetch honours). `--tls-ca FILE`
 * trusts a private CA: only then is the npm undici loaded, for its fetch with
 * an Agent holding that CA (the built-in fetch takes no CA of its own).
 */
import { Readable } from 'node:stream';
import { readFile, stat } from 'node:fs/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ClientError, EXIT, requestFailure } from './errors.js';
import { DEFAULT_TIMEOUTS, type ClientTimeouts } from './defaults.js';

/** A CA file larger than this is refused unread (a bundle of a few hundred certificates fits). */
const MAX_CA_BYTES = 1024 * 1024;

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** The built-in fetch, until trustCa() swaps in one that trusts a private CA. */
let fetchWith: Fetch = (url, init) => fetch(url, init);

/**
 * `--tls-ca FILE` (TLS_CA): every later call verifies the node's certificate
 * against the CA certificate(s) in FILE (the system CAs are then not used).
 * Hostname verification stays on.
 */
export async function trustCa(file: string): Promise<void> {
  let pem: Buffer;
  try {
    if ((await stat(file)).size > MAX_CA_BYTES) throw new ClientError(`--tls-ca (TLS_CA): ${file} is larger than ${MAX_CA_BYTES} bytes; not a PEM file`);
    pem = await readFile(file);
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw new ClientError(`--tls-ca (TLS_CA): cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ClientError(`--tls-ca (TLS_CA): ${file} holds no PEM certificate`);
  const undici = await import('undici');
  const dispatcher = new undici.Agent({ connect: { ca: pem } });
  fetchWith = async (url, init) => await undici.fetch(url, { ...(init as Parameters<typeof undici.fetch>[1]), dispatcher }) as unknown as Response;
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

export type HttpMethod = 'GET' | 'PUT' | 'DELETE' | 'HEAD' | 'POST';

export interface CallOptions {
  /** streamed as it is read; set `content-length` in `headers` when the size is known */
  body?: AsyncIterable<Uint8Array>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  timeouts?: ClientTimeouts;
}

export interface ClientResponse {
  readonly statusCode: number;
  readonly headers: Headers;
  /** the body as a Node stream (empty for a response without one) */
  readonly body: Readable;
  json(): Promise<unknown>;
  /** reads and discards the body */
  dump(): Promise<void>;
}

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

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function wrap(res: Response): ClientResponse {
  const body = res.body === null ? Readable.from([]) : Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  return {
    statusCode: res.status,
    headers: res.headers,
    body,
    json: async () => JSON.parse((await readAll(body)).toString('utf8')) as unknown,
    dump: async () => { for await (const _ of body) { /* discard */ } },
  };
}

/**
 * One request. Resolves with the response when its status is one of `ok`;
 * otherwise throws a one-line ClientError (`GET url: 404 CDN_ERR_NOT_FOUND ...`).
 */
export async function call(method: HttpMethod, url: string, ok: number[], options: CallOptions = {}): Promise<ClientResponse> {
  const what = `${method} ${url}`;
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  // One signal for the whole exchange: the caller's (stall watchdog, Ctrl-C) or the headers deadline.
  const controller = new AbortController();
  const forward = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted === true) forward();
  options.signal?.addEventListener('abort', forward, { once: true });
  const deadline = setTimeout(() => {
    const err = Object.assign(new Error(`no response headers within ${timeouts.headersMs / 1000} s`), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    controller.abort(err);
  }, timeouts.headersMs);
  let res: ClientResponse;
  try {
    const init: RequestInit & { duplex?: 'half' } = { method, headers: options.headers, signal: controller.signal, redirect: 'manual' };
    if (options.body !== undefined) {
      init.body = options.body as unknown as RequestInit['body'];
      init.duplex = 'half';
    }
    res = wrap(await fetchWith(url, init));
  } catch (err) {
    throw requestFailure(what, controller.signal.aborted ? controller.signal.reason : err);
  } finally {
    clearTimeout(deadline);
  }
  if (ok.includes(res.statusCode)) return res;
  const detail = await errorText(res).catch(() => '');
  const exitCode = res.statusCode === 404 ? EXIT.notFound : EXIT.other;
  throw new ClientError(`${what}: ${res.statusCode}${detail === '' ? '' : ` ${detail}`}`, exitCode);
}
