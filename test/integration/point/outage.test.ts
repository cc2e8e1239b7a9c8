/**
 * Backend failures, for real: a private redis-server and a private postgres
 * are stopped and started again under a running Point (never the shared
 * instances). While one is down the Point answers 503 naming it, at once;
 * when it returns the Point recovers without a restart.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { regProofMessage } from '../../../src/bootstrap/caller.js';
import { buildPointConfig, POINT_LOCAL_TEST } from '../../../src/bootstrap/config.js';
import { PointClient } from '../../../src/bootstrap/client.js';
import { startPoint } from '../../../src/bootstrap/server.js';
import { isCdnError } from '../../../src/errors.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { freshDatabase, startPrivatePostgres, startPrivateRedis, uniquePrefix, type Service } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { call, closeAgents, provenReg, q, registerNode, startTestPoint, type TestPoint } from './harness.js';

let redis: Service;
let postgres: Service;
let open: TestPoint[] = [];

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startPrivateRedis(), startPrivatePostgres()]);
});
afterEach(async () => {
  // whatever a test stopped is running again before the next one
  await redis.start().catch(() => undefined);
  await postgres.start().catch(() => undefined);
  await Promise.all(open.map((p) => p.close()));
  open = [];
});
afterAll(async () => {
  await closeAgents();
  await Promise.all([redis.close(), postgres.close()]);
});

async function point(): Promise<string> {
  const started = await startTestPoint(redis, postgres);
  open.push(started);
  return started.point.url;
}

/**
 * A /reg body for a new key with a valid proof: over a challenge from the
 * Point when it can issue one, else over one it never issued (the signature
 * holds, so the call gets as far as the backend that is down and answers 503).
 */
async function newKey(url: string): Promise<Record<string, unknown>> {
  const identity = generateIdentity();
  const issued = await call(url, 'POST', '/reg/challenge', { body: { publicKey: identity.publicKey } });
  const challenge = issued.status === 201 ? (issued.json as { challenge: string }).challenge : randomBytes(32).toString('base64url');
  return { port: 7000, publicKey: identity.publicKey, challenge, signature: identity.sign(regProofMessage(challenge, identity.publicKey, 7000)) };
}

test('Redis down: 503 naming Redis at once; it recovers by itself when Redis returns', async () => {
  const url = await point();
  const me = await registerNode(url, '127.0.0.2');
  await redis.stop();

  const look = await waitFor(async () => {
    const answer = await call(url, 'GET', `/look${q({ key: me.key })}`);
    return answer.status === 503 ? answer : undefined;
  }, { what: 'look to answer 503', timeoutMs: 10_000 });
  expect(look.json).toEqual({ error: { code: 'POINT_ERR_REDIS_UNAVAILABLE', message: expect.stringContaining('Redis'), details: { requestId: expect.any(String) } } });
  expect(look.headers['retry-after']).toBe('1');
  expect(look.headers['x-request-id']).toBe((look.json as { error: { details: { requestId: string } } }).error.details.requestId);
  for (const answer of [
    await call(url, 'POST', '/heartbeat', { body: { key: me.key } }),
    await call(url, 'POST', '/reg', { body: await newKey(url) }),
    await call(url, 'GET', `/check${q({ key: me.key, target: me.id })}`),
  ]) {
    expect([answer.status, answer.code]).toEqual([503, 'POINT_ERR_REDIS_UNAVAILABLE']);
  }
  expect((await call(url, 'GET', '/healthz')).json).toMatchObject({ status: 'degraded', registry: { up: false }, banlist: { up: true } });
  expect((await call(url, 'GET', '/readyz')).status).toBe(503);

  await redis.start();
  // this private Redis keeps nothing across a restart, so nodes register again (as real nodes do on 401)
  const again = await waitFor(async () => {
    const answer = await call(url, 'POST', '/reg', { from: '127.0.0.2', body: await provenReg(url, me.identity) });
    return answer.status === 201 ? answer.json as { key: string } : undefined;
  }, { what: 'reg to work again after Redis returned', timeoutMs: 20_000, intervalMs: 100 });
  await registerNode(url, '127.0.0.3');
  const after = await call(url, 'GET', `/look${q({ key: again.key })}`);
  expect([after.status, (after.json as unknown[]).length]).toEqual([200, 1]);
  expect((await call(url, 'GET', '/readyz')).status).toBe(200);
});

test('Postgres down: reg and ban answer 503 naming Postgres; look and heartbeat go on; check uses the snapshot; it recovers', async () => {
  const url = await point();
  const a = await registerNode(url, '127.0.0.2');
  const b = await registerNode(url, '127.0.0.3');
  await postgres.stop();

  const reg = await waitFor(async () => {
    const answer = await call(url, 'POST', '/reg', { from: '127.0.0.4', body: await newKey(url) });
    return answer.status === 503 ? answer : undefined;
  }, { what: 'reg to answer 503', timeoutMs: 10_000 });
  expect(reg.json).toMatchObject({ error: { code: 'POINT_ERR_POSTGRES_UNAVAILABLE', message: expect.stringContaining('PostgreSQL') } });
  const ban = await call(url, 'POST', '/ban', { from: a.ip, body: { key: a.key, ip: '10.0.0.1', reason: 'x' } });
  expect([ban.status, ban.code]).toEqual([503, 'POINT_ERR_POSTGRES_UNAVAILABLE']);
  // the registry does not need Postgres
  expect((await call(url, 'POST', '/heartbeat', { body: { key: a.key } })).status).toBe(200);
  expect((await call(url, 'GET', `/look${q({ key: a.key })}`)).json).toHaveLength(1);
  const check = await call(url, 'GET', `/check${q({ key: a.key, target: b.id })}`);
  expect([check.status, (check.json as { banlistFresh: boolean }).banlistFresh]).toEqual([200, false]);
  expect((await call(url, 'GET', '/healthz')).json).toMatchObject({ status: 'degraded', registry: { up: true }, banlist: { up: false } });

  await postgres.start();
  await waitFor(async () => (await call(url, 'POST', '/reg', { from: '127.0.0.4', body: await newKey(url) })).status === 201,
    { what: 'reg to work again after Postgres returned', timeoutMs: 20_000, intervalMs: 100 });
  expect((await call(url, 'POST', '/ban', { from: a.ip, body: { key: a.key, ip: '10.0.0.1', reason: 'x' } })).status).toBe(200);
  expect((await call(url, 'GET', `/check${q({ key: a.key, target: b.id })}`)).json).toMatchObject({ banlistFresh: true });
});

test('a Point started while Redis and Postgres are both down serves 503 and comes up when they return', async () => {
  const database = await freshDatabase(postgres.url);
  const config = buildPointConfig({ redisUrl: redis.url, databaseUrl: database.url, redisPrefix: uniquePrefix() }, POINT_LOCAL_TEST);
  await Promise.all([redis.stop(), postgres.stop()]);
  const running = await startPoint(config);
  try {
    const first = await call(running.url, 'POST', '/reg', { body: await newKey(running.url) });
    expect(first.status).toBe(503);
    expect(['POINT_ERR_REDIS_UNAVAILABLE', 'POINT_ERR_POSTGRES_UNAVAILABLE']).toContain(first.code);
    await postgres.start();
    const noRedis = await waitFor(async () => {
      const answer = await call(running.url, 'POST', '/reg', { body: await newKey(running.url) });
      return answer.code === 'POINT_ERR_REDIS_UNAVAILABLE' ? answer : undefined;
    }, { what: 'the migrations to run once Postgres is up, leaving Redis as the one missing', timeoutMs: 20_000, intervalMs: 100 });
    expect(noRedis.status).toBe(503);
    await redis.start();
    await waitFor(async () => (await call(running.url, 'POST', '/reg', { body: await newKey(running.url) })).status === 201,
      { what: 'reg to work once both are back', timeoutMs: 20_000, intervalMs: 100 });
  } finally {
    await running.stop();
    await database.drop().catch(() => undefined);
  }
});

test('a Point stops promptly while Redis and Postgres are both down', async () => {
  const database = await freshDatabase(postgres.url);
  const config = buildPointConfig({ redisUrl: redis.url, databaseUrl: database.url, redisPrefix: uniquePrefix() }, POINT_LOCAL_TEST);
  const running = await startPoint(config);
  await registerNode(running.url, '127.0.0.2');
  await Promise.all([redis.stop(), postgres.stop()]);
  expect((await call(running.url, 'POST', '/reg', { body: await newKey(running.url) })).status).toBe(503);
  // bounded by the test's timeout: a hang here would fail it
  await running.stop();
  await postgres.start();
  await database.drop().catch(() => undefined);
});

test('the client retries a 503 with backoff, then passes the Point\'s code through', async () => {
  const url = await point();
  const sleeps: number[] = [];
  const client = new PointClient({ url, retries: 3, random: () => 0.5, sleep: async (ms) => { sleeps.push(ms); } });
  try {
    const { key } = await client.reg({ port: 7000, ...generateIdentity() });
    await redis.stop();
    const err = await waitFor(async () => {
      const failure = await client.look(key, 3).then(() => undefined, (e: unknown) => e);
      return isCdnError(failure) && failure.code === 'POINT_ERR_REDIS_UNAVAILABLE' ? failure : undefined;
    }, { what: 'the client to give up with the Redis code', timeoutMs: 10_000 });
    expect(err.status).toBe(503);
    // 3 retries after the first attempt, full jitter at 0.5 of 100, 200, 400 ms
    expect(sleeps.slice(-3)).toEqual([50, 100, 200]);
  } finally {
    await client.close();
  }
});
