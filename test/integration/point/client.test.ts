/**
 * The client nodes use, against a real Point on real Redis and Postgres and
 * against sockets that refuse or never answer.
 */
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PointClient } from '../../../src/bootstrap/client.js';
import { CdnError } from '../../../src/errors.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { freePort } from '../../helpers/net.js';
import { postgresForTests, redisForTests, type Service } from '../../helpers/services.js';
import { startTestPoint, type TestPoint } from './harness.js';

let redis: Service;
let postgres: Service;
let tp: TestPoint;
const secret = 'a cluster secret for tests';

beforeAll(async () => {
  [redis, postgres] = await Promise.all([redisForTests(), postgresForTests()]);
  tp = await startTestPoint(redis, postgres, { clusterSecret: secret, peerPoints: ['http://10.0.0.1:8080'] });
});
afterAll(async () => {
  await tp.close();
  await Promise.all([redis.close(), postgres.close()]);
});

function client(from: string, options: Partial<ConstructorParameters<typeof PointClient>[0]> = {}): PointClient {
  return new PointClient({ url: tp.point.url, localAddress: from, clusterSecret: secret, ...options });
}

test('every call works end to end, from distinct source addresses', async () => {
  const [a, b, c] = [client('127.0.0.2'), client('127.0.0.3'), client('127.0.0.4')];
  try {
    const ids = [generateIdentity(), generateIdentity(), generateIdentity()];
    const [ra, rb, rc] = await Promise.all([a, b, c].map((cl, i) => cl.reg({ port: 7000 + i, ...ids[i]! })));
    expect(ra).toEqual({ id: ids[0]!.id, key: expect.any(String), ttl: 20 });
    expect(await a.heartbeat(ra!.key)).toEqual({ id: ids[0]!.id, ttl: 20 });
    expect((await a.look(ra!.key, 10)).map((n) => n.id).sort()).toEqual([rb!.id, rc!.id].sort());
    expect(await a.check(ra!.key, rb!.id)).toMatchObject({ id: rb!.id, ip: '127.0.0.3', port: 7001 });
    expect(await a.points(ra!.key, 5)).toEqual([{ url: 'http://10.0.0.1:8080' }]);
    expect(await a.remove(ra!.key, rc!.id)).toEqual({ target: rc!.id, reports: 1, quorum: 2, removed: false });
    expect(await a.ban(ra!.key, '127.0.0.4', 'bad bytes')).toMatchObject({ banned: false, reports: 1 });
    expect(await b.ban(rb!.key, '127.0.0.4', 'bad bytes')).toMatchObject({ banned: true, reports: 2 });
    await expect(c.reg({ port: 7002, ...generateIdentity() })).rejects.toMatchObject({ code: 'POINT_ERR_BANNED', status: 403 });
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test('4xx answers are not retried and keep the Point\'s code', async () => {
  const sleeps: number[] = [];
  const cl = client('127.0.0.5', { sleep: async (ms) => { sleeps.push(ms); } });
  try {
    const { key } = await cl.reg({ port: 7000, ...generateIdentity() });
    const missing = await cl.check(key, generateIdentity().id).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(CdnError);
    expect(missing).toMatchObject({ code: 'POINT_ERR_NOT_FOUND', status: 404 });
    await expect(cl.heartbeat('not-a-key')).rejects.toMatchObject({ code: 'POINT_ERR_UNAUTHORIZED' });
    const noSecret = new PointClient({ url: tp.point.url, sleep: async (ms) => { sleeps.push(ms); } });
    await expect(noSecret.reg({ port: 7000, ...generateIdentity() })).rejects.toMatchObject({ code: 'POINT_ERR_BAD_JOIN_TOKEN' });
    await noSecret.close();
    expect(sleeps).toEqual([]);
  } finally {
    await cl.close();
  }
});

test('a Point that refuses connections ends in POINT_ERR_UNREACHABLE after the retries', async () => {
  const port = await freePort();
  const sleeps: number[] = [];
  const cl = new PointClient({ url: `http://127.0.0.1:${port}`, retries: 4, random: () => 0.999, sleep: async (ms) => { sleeps.push(ms); }, backoff: { baseMs: 100, capMs: 500 } });
  try {
    const err = await cl.look('k', 3).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'POINT_ERR_UNREACHABLE' });
    expect((err as CdnError).message).toContain(`127.0.0.1:${port}/look`);
    expect(sleeps).toEqual([99, 199, 399, 499]);
  } finally {
    await cl.close();
  }
});

test('a Point that accepts but never answers times out, and is reported unreachable', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => { sockets.push(socket); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const cl = new PointClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 200, retries: 1, sleep: async () => undefined });
  try {
    // without the per-attempt timeout this would hang until the test's own timeout
    await expect(cl.heartbeat('k')).rejects.toMatchObject({ code: 'POINT_ERR_UNREACHABLE' });
    expect(sockets.length).toBeGreaterThanOrEqual(1);
  } finally {
    await cl.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});
