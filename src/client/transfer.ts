/**
 * put, get and rm: bodies are streamed (never held whole in memory), hashed on
 * the way through, and checked against what the node says it stored or sent.
 * A download goes to a temporary file next to the target and is renamed into
 * place only once its sha256 matches the ETag, so a failed get leaves nothing.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import { createWriteStream, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { call, nodeUrl } from './http.js';
import { DEFAULT_TIMEOUTS, type ClientTimeouts } from './defaults.js';
import { ClientError, requestFailure } from './errors.js';
import { Meter } from './meter.js';
import { Progress } from './progress.js';

export interface TransferOptions {
  node: string;
  timeouts?: ClientTimeouts;
  /** draw a progress bar; defaults to whether stderr is a terminal */
  progress?: boolean;
  /** a client token (--token, CDN_TOKEN), sent as Authorization: Bearer */
  token?: string | undefined;
}

function authHeaders(options: TransferOptions): Record<string, string> {
  return options.token === undefined || options.token === '' ? {} : { authorization: `Bearer ${options.token.trim()}` };
}

export interface PutResult {
  id: string;
  etag: string;
  size: number;
  sha256: string;
  created: boolean;
}

function blobPath(id: string): string {
  return `blobs/${encodeURIComponent(id)}`;
}

async function openSource(file: string): Promise<{ stream: Readable; size: number | undefined }> {
  if (file === '-') return { stream: process.stdin, size: undefined };
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new ClientError(`${file}: not a regular file`);
    const handle = await open(file, 'r');
    return { stream: handle.createReadStream(), size: info.size };
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw new ClientError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Streams FILE (or stdin for `-`) to PUT /blobs/{id}; `id` defaults to a fresh UUID. */
export async function putBlob(file: string, id: string | undefined, options: TransferOptions): Promise<PutResult> {
  const key = id ?? (await import('uuid')).v4();
  const url = nodeUrl(options.node, blobPath(key));
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const { stream, size } = await openSource(file);
  const abort = new AbortController();
  const meter = new Meter(`PUT ${url}`, timeouts.stallMs, abort, new Progress({ label: 'put', total: size, enabled: options.progress }));
  stream.once('error', (err) => meter.destroy(new ClientError(`cannot read ${file}: ${err.message}`)));
  stream.pipe(meter);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...authHeaders(options) };
  if (size !== undefined) headers['content-length'] = String(size);
  try {
    const res = await call('PUT', url, [200, 201], { body: meter, headers, signal: abort.signal, timeouts });
    const stored = await res.json() as Omit<PutResult, 'created'>;
    const sent = meter.digest();
    if (stored.sha256 !== sent) throw new ClientError(`PUT ${url}: the node stored sha256 ${stored.sha256}, but ${sent} was sent`);
    return { ...stored, created: res.statusCode === 201 };
  } finally {
    meter.stop();
    stream.destroy();
  }
}

async function toStdout(source: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of source) {
    if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
  }
}

/**
 * GET /blobs/{id} into `out` (atomically, after checking the ETag) or, with no
 * `out`, to stdout (checked at the end; a mismatch still exits non-zero).
 */
export async function getBlob(id: string, out: string | undefined, options: TransferOptions): Promise<{ size: number; sha256: string }> {
  const url = nodeUrl(options.node, blobPath(id));
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  if (out !== undefined && out !== '-') {
    const dir = await stat(dirname(resolve(out))).catch(() => undefined);
    if (dir?.isDirectory() !== true) throw new ClientError(`cannot write ${out}: ${dirname(resolve(out))} is not a directory`);
  }
  const abort = new AbortController();
  const res = await call('GET', url, [200], { signal: abort.signal, timeouts, headers: authHeaders(options) });
  const length = Number(res.headers.get('content-length') ?? NaN);
  const etag = res.headers.get('etag') ?? undefined;
  const meter = new Meter(`GET ${url}`, timeouts.stallMs, abort, new Progress({ label: 'get', total: Number.isFinite(length) ? length : undefined, enabled: options.progress }));
  const target = out === undefined || out === '-' ? undefined : resolve(out);
  const tmp = target === undefined ? undefined : join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.part`);
  const removeTmp = (): void => { if (tmp !== undefined) rmSync(tmp, { force: true }); };
  const onSignal = (): void => { removeTmp(); process.exit(130); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    try {
      if (tmp === undefined) await pipeline(res.body, meter, toStdout);
      else await pipeline(res.body, meter, createWriteStream(tmp, { flags: 'wx' }));
    } catch (err) {
      if (abort.signal.aborted) throw abort.signal.reason;
      if (tmp === undefined && (process.stdout.destroyed || process.stdout.writableEnded)) throw new ClientError(`GET ${url}: stdout was closed before the whole blob was written`);
      throw requestFailure(`GET ${url}`, err);
    }
    const sha256 = meter.digest();
    if (Number.isFinite(length) && meter.bytes !== length) throw new ClientError(`GET ${url}: got ${meter.bytes} bytes, Content-Length said ${length}`);
    if (typeof etag !== 'string') throw new ClientError(`GET ${url}: no ETag to verify the body against`);
    if (etag !== `"${sha256}"`) throw new ClientError(`GET ${url}: the body's sha256 ${sha256} does not match the ETag ${etag}`);
    if (tmp !== undefined && target !== undefined) await rename(tmp, target);
    return { size: meter.bytes, sha256 };
  } catch (err) {
    if (tmp !== undefined) await rm(tmp, { force: true });
    throw err;
  } finally {
    meter.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** DELETE /blobs/{id}: the node writes a tombstone that replicates. */
export async function removeBlob(id: string, options: TransferOptions): Promise<void> {
  const url = nodeUrl(options.node, blobPath(id));
  const res = await call('DELETE', url, [200, 204], { timeouts: options.timeouts, headers: authHeaders(options) });
  await res.dump();
}
