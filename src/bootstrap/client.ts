/**
 * The client nodes use to talk to a Point (undici, one keep-alive pool per
 * Point). Every call has a timeout; network failures and 5xx answers are
 * retried with exponential backoff and full jitter, 4xx answers are not. A
 * Point that cannot be reached ends in CdnError POINT_ERR_UNREACHABLE; an
 * answer with an error passes the Point's own code through (e.g.
 * POINT_ERR_BANNED, POINT_ERR_REDIS_UNAVAILABLE). Randomness and sleep are
 * injectable so the retry schedule is testable without waiting.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import type { z } from 'zod';
import { CdnError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { joinTokenFor, regProofMessage } from './caller.js';
import {
  BanResponse, ChallengeResponse, CheckResponse, HeartbeatResponse, LookResponse, PointsResponse, RegResponse, RemoveResponse,
  type BanResult, type CheckResult, type HeartbeatResult, type PointsResult, type PublicNodeWire, type RegResult, type RemoveResult,
} from './schemas.js';

export interface PointClientOptions {
  /** the Point's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** per attempt: connect, headers and body each (ms) */
  timeoutMs?: number;
  /** attempts after the first one */
  retries?: number;
  backoff?: BackoffOptions;
  /** uniform in [0, 1) */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** source address of outgoing connections */
  localAddress?: string;
  /** keep-alive connections to the Point */
  connections?: number;
  /** PEM CA that verifies an https:// Point (the system CAs otherwise); hostname checks stay on */
  ca?: Buffer | undefined;
  /** when the Point has one: the client derives the join token from it, the secret itself never travels */
  clusterSecret?: string;
}

export const CLIENT_DEFAULTS = { timeoutMs: 2000, retries: 3, backoff: { baseMs: 100, capMs: 2000 }, connections: 4 } as const;

type Method = 'GET' | 'POST';

export class PointClient {
  readonly url: string;
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clusterSecret: string | undefined;

  constructor(options: PointClientOptions) {
    const base = new URL(options.url);
    this.url = options.url;
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs;
    this.retries = options.retries ?? CLIENT_DEFAULTS.retries;
    this.backoff = options.backoff ?? CLIENT_DEFAULTS.backoff;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.clusterSecret = options.clusterSecret;
    this.pool = new Pool(base.origin, {
      connections: options.connections ?? CLIENT_DEFAULTS.connections,
      keepAliveTimeout: 4000, // below the Point's 5 s, so the client never reuses a socket the server is closing
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connect: { timeout: this.timeoutMs, ...(options.ca === undefined ? {} : { ca: options.ca }) },
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    });
  }

  /**
   * Registers in two calls: asks for a challenge, then sends it back signed
   * by the node's private key (`sign`: base64url Ed25519 over the bytes given),
   * which proves the node holds the key it registers. A challenge is single
   * use, so a retried /reg asks for a new one.
   */
  async reg(node: { port: number; publicKey: string; id?: string; sign: (data: Buffer) => string }): Promise<RegResult> {
    const { challenge } = await this.call('POST', '/reg/challenge', ChallengeResponse, { publicKey: node.publicKey });
    const body: Record<string, unknown> = {
      port: node.port, publicKey: node.publicKey, challenge, signature: node.sign(regProofMessage(challenge, node.publicKey, node.port)),
    };
    if (node.id !== undefined) body.id = node.id;
    if (this.clusterSecret !== undefined) body.joinToken = joinTokenFor(this.clusterSecret, node.publicKey);
    return this.call('POST', '/reg', RegResponse, body, false);
  }

  heartbeat(key: string): Promise<HeartbeatResult> {
    return this.call('POST', '/heartbeat', HeartbeatResponse, { key });
  }

  look(key: string, numnodes: number): Promise<PublicNodeWire[]> {
    return this.call('GET', `/look?${new URLSearchParams({ key, numnodes: String(numnodes) })}`, LookResponse);
  }

  check(key: string, target: string): Promise<CheckResult> {
    return this.call('GET', `/check?${new URLSearchParams({ key, target })}`, CheckResponse);
  }

  ban(key: string, ip: string, reason: string): Promise<BanResult> {
    return this.call('POST', '/ban', BanResponse, { key, ip, reason });
  }

  remove(key: string, target: string): Promise<RemoveResult> {
    return this.call('POST', '/remove', RemoveResponse, { key, target });
  }

  points(key: string, count: number): Promise<PointsResult> {
    return this.call('GET', `/points?${new URLSearchParams({ key, count: String(count) })}`, PointsResponse);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** `retry: false` for calls that cannot be repeated as they are (a challenge is used up by its first try). */
  private async call<S extends z.ZodType>(method: Method, path: string, schema: S, body?: unknown, retry = true): Promise<z.infer<S>> {
    let last: CdnError | undefined;
    for (let attempt = 0; attempt <= (retry ? this.retries : 0); attempt++) {
      if (attempt > 0) await this.sleep(backoffDelay(attempt - 1, this.backoff, this.random));
      const outcome = await this.once(method, path, body);
      if ('error' in outcome) {
        last = outcome.error;
        if (!outcome.retry) throw last;
        continue;
      }
      const parsed = schema.safeParse(outcome.json);
      if (!parsed.success) throw new CdnError('POINT_ERR_INTERNAL', `the Point sent an answer to ${method} ${path.split('?')[0]} that does not match its schema`);
      return parsed.data;
    }
    throw last ?? new CdnError('POINT_ERR_UNREACHABLE');
  }

  /** One attempt: the JSON of a 2xx answer, or the error and whether it is worth retrying. */
  private async once(method: Method, path: string, body: unknown): Promise<{ json: unknown } | { error: CdnError; retry: boolean }> {
    const route = `${method} ${this.url}${path.split('?')[0]}`;
    let status: number;
    let json: unknown;
    try {
      const res = await this.pool.request({
        method,
        path: `${this.prefix}${path}`,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      json = await res.body.json().catch(() => undefined);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { error: new CdnError('POINT_ERR_UNREACHABLE', `${route}: ${reason}`, { cause: err }), retry: true };
    }
    if (status >= 200 && status < 300) return { json };
    return { error: errorFromAnswer(status, json, route), retry: status >= 500 };
  }
}

function errorFromAnswer(status: number, json: unknown, route: string): CdnError {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' && Object.hasOwn(ERROR_CODES, error.code) ? error.code as ErrorCode : undefined;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  if (code !== undefined) return new CdnError(code, message, { details: { status } });
  return new CdnError(status >= 500 ? 'POINT_ERR_UNREACHABLE' : 'POINT_ERR_BAD_REQUEST', `${route}: HTTP ${status} ${message}`, { details: { status } });
}
