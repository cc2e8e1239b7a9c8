/**
 * What every fuzz file shares: a counted keep-alive client, raw-socket
 * exchanges for requests undici will not send, the error-answer oracle, and
 * a bounded way to run a batch of generated requests a few at a time.
 *
 * The oracle for an error answer: the expected status, a JSON Content-Type,
 * and exactly the SPEC's shape `{"error": {"code", "message", "details"?}}`
 * with a code from src/errors.ts whose status is the one answered.
 */
import { connect } from 'node:net';
import { expect } from 'vitest';
import { Pool } from 'undici';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';

/**
 * fast-check options of every property: a failure stops at once, without
 * shrinking (a batch of 16 live requests shrinks slowly, and the assertion
 * already names the failing request); the seed and path it prints replay it.
 */
export const FC_OPTIONS = { endOnFailure: true } as const;

/** Each request a fuzz file sends; undici or a raw socket. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** What a generated request must get back. */
export interface Expected {
  status: number;
  /** the error codes the contract allows (one, unless several checks could fire first) */
  codes: ErrorCode[];
}

/** Expected answer for one code: its status comes from src/errors.ts. */
export function fails(...codes: ErrorCode[]): Expected {
  const first = codes[0];
  if (first === undefined) throw new Error('fails() needs a code');
  return { status: ERROR_CODES[first].status, codes };
}

/** A keep-alive pool that counts what it sends (the count proves the suite's size). */
export class FuzzClient {
  sent = 0;
  private readonly pool: Pool;

  constructor(readonly origin: string, options: { localAddress?: string; connections?: number } = {}) {
    this.pool = new Pool(origin, {
      connections: options.connections ?? 8,
      keepAliveTimeout: 4000,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
      connect: { timeout: 10_000 },
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    });
  }

  async send(req: FuzzRequest): Promise<Answer> {
    this.sent++;
    const res = await this.pool.request({
      method: req.method as 'GET',
      path: req.path,
      headers: req.headers ?? {},
      ...(req.body !== undefined ? { body: req.body } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Asserts an error answer: status, JSON Content-Type and the exact error shape. */
export function expectErrorAnswer(answer: Answer, expected: Expected, what: string): void {
  const context = `${what} → ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, context).toBe(expected.status);
  expect(String(answer.headers['content-type']), context).toMatch(/^application\/json/);
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new Error(`not JSON: ${context}`);
  }
  expect(Object.keys(body as object), context).toEqual(['error']);
  const error = (body as { error: Record<string, unknown> }).error;
  expect(Object.keys(error).filter((k) => k !== 'details').sort(), context).toEqual(['code', 'message']);
  expect(typeof error.message, context).toBe('string');
  if ('details' in error) expect(typeof error.details, context).toBe('object');
  expect(expected.codes, context).toContain(error.code);
  expect(ERROR_CODES[error.code as ErrorCode].status, context).toBe(answer.status);
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inBatches<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

export interface RawResult {
  /** the status of the first answer, if one came */
  status: number | undefined;
  text: string;
  /** the server closed the connection */
  closed: boolean;
}

export interface RawOptions {
  /** what the client does after writing: keep the socket open, half-close it, or reset it */
  then?: 'wait' | 'end' | 'destroy';
  /** bound on the whole exchange; a server that neither answers nor closes by then is hung */
  timeoutMs?: number;
  localAddress?: string;
}

/**
 * Writes `chunks` on a fresh socket and resolves once a whole answer is in
 * (headers plus Content-Length bytes), the server closed, or the bound passed
 * (`closed` false and no status: a hang).
 */
export function rawExchange(host: string, port: number, chunks: readonly (string | Buffer)[], options: RawOptions = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}) });
    let buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = buffer.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m?.[1] === undefined ? undefined : Number(m[1]), text, closed });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 10_000);
    socket.on('data', (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      const head = buffer.indexOf('\r\n\r\n');
      if (head < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(buffer.subarray(0, head).toString('latin1'));
      if (length?.[1] !== undefined && buffer.length >= head + 4 + Number(length[1])) finish(true);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
      if (options.then === 'end') socket.end();
      else if (options.then === 'destroy') finish(true);
    });
  });
}

/** Raw garbage gets a 4xx (from the parser or the app) or a closed connection; never a 5xx, never a hang. */
export function expectRawRefused(result: RawResult, allowed: readonly number[], what: string): void {
  const context = `${what} → ${JSON.stringify(result.text.slice(0, 200))}`;
  if (result.status === undefined) {
    expect(result.closed, `no answer and no close (hang): ${context}`).toBe(true);
    return;
  }
  expect(allowed, context).toContain(result.status);
}

/** Total requests a file sent, for its count assertion. */
export function total(...counts: number[]): number {
  return counts.reduce((a, b) => a + b, 0);
}

/** One generated request and the error answer it must get. */
export interface ErrorCase {
  what: string;
  req: FuzzRequest;
  expect: Expected;
}

/** Sends `cases` through `client`, 8 at a time, checking each answer; resolves to how many were sent. */
export async function sendErrorCases(client: FuzzClient, cases: readonly ErrorCase[]): Promise<number> {
  await inBatches(cases, 8, async (c) => {
    expectErrorAnswer(await client.send(c.req), c.expect, `${c.what}: ${c.req.method} ${c.req.path.slice(0, 100)}`);
  });
  return cases.length;
}

