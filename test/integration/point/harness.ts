/**
 * A Point for integration tests, on real Redis and PostgreSQL: each call to
 * `startTestPoint` gets its own Redis key prefix and a fresh database, listens
 * on 127.0.0.1 port 0, and `close()` removes all of it. `callFrom(ip)` talks
 * to it from a chosen loopback address (the Point sees callers by socket
 * address, so 127.0.0.2, 127.0.0.3... are distinct reporters).
 */
import { Agent, request } from 'undici';
import { buildPointConfig, POINT_LOCAL_TEST, type PointConfig, type PointConfigInput } from '../../../src/bootstrap/config.js';
import { startPoint, type RunningPoint } from '../../../src/bootstrap/server.js';
import { generateIdentity, type NodeIdentity } from '../../../src/identity/keystore.js';
import { regProofMessage } from '../../../src/bootstrap/caller.js';
import type { Logger } from '../../../src/log.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { dropPrefix, freshDatabase, postgresForTests, redisForTests, uniquePrefix, type Service } from '../../helpers/services.js';

export interface TestPoint {
  point: RunningPoint;
  config: PointConfig;
  prefix: string;
  close(): Promise<void>;
}

export async function startTestPoint(redis: Service, postgres: Service, overrides: PointConfigInput = {}, logger?: Logger, clock?: () => number): Promise<TestPoint> {
  const prefix = uniquePrefix();
  const database = await freshDatabase(postgres.url);
  const config = buildPointConfig({ redisUrl: redis.url, databaseUrl: database.url, redisPrefix: prefix, ...overrides }, POINT_LOCAL_TEST);
  const point = await startPoint(config, { ...(logger === undefined ? {} : { logger }), ...(clock === undefined ? {} : { clock }) });
  return {
    point, config, prefix,
    async close() {
      await point.stop();
      await database.drop().catch(() => undefined);
      await dropPrefix(redis.url, prefix).catch(() => undefined);
    },
  };
}

const agents = new Map<string, Agent>();

function agentFor(localAddress: string): Agent {
  let agent = agents.get(localAddress);
  if (agent === undefined) {
    agent = new Agent({ localAddress, connect: { timeout: 5000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });
    agents.set(localAddress, agent);
  }
  return agent;
}

export async function closeAgents(): Promise<void> {
  await Promise.all([...agents.values()].map((a) => a.close()));
  agents.clear();
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
  /** the error code of an error answer */
  code: string | undefined;
}

export interface CallOptions {
  from?: string;
  /** JSON-encoded unless `raw` is given */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

/** One HTTP call to `url + path` from a chosen source address. */
export async function call(url: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const hasBody = options.raw !== undefined || options.body !== undefined;
  const res = await request(`${url}${path}`, {
    method: method as 'GET',
    dispatcher: agentFor(options.from ?? '127.0.0.1'),
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    ...(hasBody ? { body: options.raw ?? JSON.stringify(options.body) } : {}),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  const code = (json as { error?: { code?: string } } | undefined)?.error?.code;
  return { status: res.statusCode, headers: res.headers, json, code };
}

export interface TestNode {
  id: string;
  key: string;
  publicKey: string;
  ip: string;
  port: number;
  identity: NodeIdentity;
}

/** A fresh challenge for `publicKey`, asked from `from`; fails the test unless the Point answers 201. */
export async function challengeFor(url: string, publicKey: string, from = '127.0.0.1'): Promise<string> {
  const answer = await call(url, 'POST', '/reg/challenge', { from, body: { publicKey } });
  if (answer.status !== 201) throw new Error(`reg/challenge from ${from} answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  return (answer.json as { challenge: string }).challenge;
}

/**
 * The body of a /reg that proves possession of `identity`'s key: a fresh
 * challenge from the Point, signed by it for `port`, with `extra` fields on top.
 */
export async function provenReg(url: string, identity: NodeIdentity, port = 7000, extra: Record<string, unknown> = {}, from = '127.0.0.1'): Promise<Record<string, unknown>> {
  const challenge = await challengeFor(url, identity.publicKey, from);
  return { port, publicKey: identity.publicKey, challenge, signature: identity.sign(regProofMessage(challenge, identity.publicKey, port)), ...extra };
}

/** Registers a new identity from `ip` (challenge, then signed reg); fails the test unless the Point answers 201. */
export async function registerNode(url: string, ip = '127.0.0.1', port = 7000, extra: Record<string, unknown> = {}): Promise<TestNode> {
  const identity = generateIdentity();
  const { id, publicKey } = identity;
  const answer = await call(url, 'POST', '/reg', { from: ip, body: await provenReg(url, identity, port, extra, ip) });
  if (answer.status !== 201) throw new Error(`reg from ${ip} answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  const { key } = answer.json as { key: string };
  return { id, key, publicKey, ip, port, identity };
}

export const q = (params: Record<string, string | number>): string =>
  `?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`;

export interface PointsOnRealBackends {
  /** starts a Point on this file's Redis and Postgres; closed after the test. `clock` is the registry's. */
  point(overrides?: PointConfigInput, clock?: () => number): Promise<string>;
  redisUrl(): string;
  /** false when Redis is the shared one from REDIS_URL (no SCRIPT FLUSH there) */
  redisPrivate(): boolean;
  /** the Redis key prefix of the n-th Point started in the current test */
  prefix(n?: number): string;
}

/** Installs the hooks of a test file whose tests each start Points on real Redis and Postgres. */
export function pointsOnRealBackends(): PointsOnRealBackends {
  let redis: Service;
  let postgres: Service;
  let open: TestPoint[] = [];
  beforeAll(async () => {
    [redis, postgres] = await Promise.all([redisForTests(), postgresForTests()]);
  });
  afterEach(async () => {
    await Promise.all(open.map((p) => p.close()));
    open = [];
  });
  afterAll(async () => {
    await closeAgents();
    await Promise.all([redis.close(), postgres.close()]);
  });
  return {
    async point(overrides = {}, clock?: () => number) {
      const started = await startTestPoint(redis, postgres, overrides, undefined, clock);
      open.push(started);
      return started.point.url;
    },
    redisUrl: () => redis.url,
    redisPrivate: () => redis.private,
    prefix: (n = 0) => open[n]!.prefix,
  };
}
