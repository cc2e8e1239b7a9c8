/**
 * Every Point endpoint over real HTTP, on real Redis and real PostgreSQL:
 * the happy paths, every error status, malformed bodies and queries, the
 * quorum ban, TTL expiry and many concurrent clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { register as globalRegister } from 'prom-client';
import { Redis } from 'ioredis';
import { POINT_ROUTES } from '../../../src/bootstrap/app.js';
import { joinTokenFor } from '../../../src/bootstrap/caller.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { postgresForTests, redisForTests, type Service } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { call, closeAgents, q, registerNode, startTestPoint, type TestPoint } from './harness.js';

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

async function point(overrides: Parameters<typeof startTestPoint>[2] = {}): Promise<string> {
  const started = await startTestPoint(redis, postgres, overrides);
  open.push(started);
  return started.point.url;
}

describe('POST /reg', () => {
  test('registers the caller with the address of its socket and answers {id, key, ttl}', async () => {
    const url = await point();
    const { id, publicKey } = generateIdentity();
    const reg = await call(url, 'POST', '/reg', { from: '127.0.0.2', body: { port: 7001, publicKey, id }, headers: { 'x-forwarded-for': '10.9.9.9' } });
    expect(reg.status).toBe(201);
    expect(reg.json).toEqual({ id, key: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), ttl: 20 });
    const other = await registerNode(url, '127.0.0.3');
    const check = await call(url, 'GET', `/check${q({ key: other.key, target: id })}`);
    expect(check.status).toBe(200);
    // the address is the socket's, never X-Forwarded-For
    expect(check.json).toMatchObject({ id, ip: '127.0.0.2', port: 7001, publicKey, banlistFresh: true });
  });

  test('rejects malformed bodies with 400 and the JSON error shape', async () => {
    const url = await point();
    const { publicKey } = generateIdentity();
    const cases: Array<[string, Parameters<typeof call>[3]]> = [
      ['not JSON', { raw: '{"port": 7000,' }],
      ['an array', { body: [1, 2] }],
      ['a string', { raw: '"hello"' }],
      ['no body', {}],
      ['wrong content type', { raw: JSON.stringify({ port: 7000, publicKey }), headers: { 'content-type': 'text/plain' } }],
      ['a missing port', { body: { publicKey } }],
      ['a port out of range', { body: { port: 70000, publicKey } }],
      ['a string port', { body: { port: '7000', publicKey } }],
      ['an unknown key', { body: { port: 7000, publicKey, admin: true } }],
      ['a __proto__ key', { raw: `{"port":7000,"publicKey":"${publicKey}","__proto__":{"x":1}}` }],
      ['a malformed id', { body: { port: 7000, publicKey, id: 'node-1' } }],
    ];
    for (const [what, options] of cases) {
      const answer = await call(url, 'POST', '/reg', options);
      expect(answer.status, what).toBe(400);
      expect(answer.code, what).toBe('POINT_ERR_BAD_REQUEST');
      expect(answer.json, what).toEqual({ error: { code: 'POINT_ERR_BAD_REQUEST', message: expect.any(String) } });
    }
  });

  test('rejects a key that is not 32 base64url bytes, and an id that is not the key\'s', async () => {
    const url = await point();
    for (const publicKey of ['abc', 'A'.repeat(44), `${'A'.repeat(42)}!`]) {
      expect((await call(url, 'POST', '/reg', { body: { port: 7000, publicKey } })).code).toBe('POINT_ERR_BAD_PUBLIC_KEY');
    }
    const a = generateIdentity();
    const b = generateIdentity();
    const mismatch = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey: a.publicKey, id: b.id } });
    expect([mismatch.status, mismatch.code]).toEqual([400, 'POINT_ERR_ID_MISMATCH']);
  });

  test('a body over 16 KiB gets 413', async () => {
    const url = await point();
    const answer = await call(url, 'POST', '/reg', { raw: JSON.stringify({ port: 7000, publicKey: 'x'.repeat(20_000) }) });
    expect([answer.status, answer.code]).toEqual([413, 'POINT_ERR_BODY_TOO_LARGE']);
  });

  test('an id live from another address gets 409; from the same address it re-registers', async () => {
    const url = await point();
    const node = await registerNode(url, '127.0.0.2');
    const elsewhere = await call(url, 'POST', '/reg', { from: '127.0.0.3', body: { port: 7000, publicKey: node.publicKey } });
    expect([elsewhere.status, elsewhere.code]).toEqual([409, 'POINT_ERR_ID_TAKEN']);
    const again = await call(url, 'POST', '/reg', { from: '127.0.0.2', body: { port: 7009, publicKey: node.publicKey } });
    expect(again.status).toBe(201);
    // the old session key stopped working
    expect((await call(url, 'POST', '/heartbeat', { body: { key: node.key } })).status).toBe(401);
    expect((await call(url, 'POST', '/heartbeat', { body: { key: (again.json as { key: string }).key } })).status).toBe(200);
  });

  test('with CLUSTER_SECRET set, a missing or wrong join token gets 401', async () => {
    const secret = 'correct horse battery staple';
    const url = await point({ clusterSecret: secret });
    const { publicKey } = generateIdentity();
    const missing = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey } });
    expect([missing.status, missing.code]).toEqual([401, 'POINT_ERR_BAD_JOIN_TOKEN']);
    const wrong = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey, joinToken: joinTokenFor('another secret', publicKey) } });
    expect([wrong.status, wrong.code]).toEqual([401, 'POINT_ERR_BAD_JOIN_TOKEN']);
    const raw = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey, joinToken: secret } });
    expect(raw.status).toBe(401);
    // a token for another key does not transfer
    const stolen = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey, joinToken: joinTokenFor(secret, generateIdentity().publicKey) } });
    expect(stolen.status).toBe(401);
    const right = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey, joinToken: joinTokenFor(secret, publicKey) } });
    expect(right.status).toBe(201);
  });
});

describe('session-key authentication', () => {
  test('every call but reg answers 401 without a valid key', async () => {
    const url = await point();
    const target = (await registerNode(url)).id;
    const calls: Array<[string, string, (key?: string) => Parameters<typeof call>[3] & { path?: string }]> = [
      ['POST', '/heartbeat', (key) => ({ body: key === undefined ? {} : { key } })],
      ['GET', '/look', (key) => ({ path: q(key === undefined ? { numnodes: 3 } : { key, numnodes: 3 }) })],
      ['GET', '/check', (key) => ({ path: q(key === undefined ? { target } : { key, target }) })],
      ['POST', '/ban', (key) => ({ body: { ...(key === undefined ? {} : { key }), ip: '10.0.0.1', reason: 'x' } })],
      ['POST', '/remove', (key) => ({ body: { ...(key === undefined ? {} : { key }), target } })],
      ['GET', '/points', (key) => ({ path: q(key === undefined ? {} : { key }) })],
    ];
    for (const [method, path, make] of calls) {
      for (const key of [undefined, '', 'not-a-session-key', 'A'.repeat(43)]) {
        const { path: query, ...options } = make(key);
        const answer = await call(url, method, `${path}${query ?? ''}`, options);
        expect([answer.status, answer.code], `${method} ${path} key=${String(key)}`).toEqual([401, 'POINT_ERR_UNAUTHORIZED']);
      }
    }
  });
});

describe('POST /heartbeat and TTL expiry', () => {
  test('a heartbeat answers {id, ttl}; a node that stops heartbeating drops out of look, check and heartbeat', async () => {
    const url = await point({ heartbeatTtlSec: 1 });
    const lapsing = await registerNode(url, '127.0.0.3');
    const heartbeat = await call(url, 'POST', '/heartbeat', { body: { key: lapsing.key } });
    // (a 1 s TTL may already have lapsed on a loaded machine; then the answer is 401)
    if (heartbeat.status === 200) expect(heartbeat.json).toEqual({ id: lapsing.id, ttl: 1 });
    else expect(heartbeat.code).toBe('POINT_ERR_UNAUTHORIZED');
    // each probe looks through a freshly registered observer, so only the lapsing node's TTL matters
    const observer = await waitFor(async () => {
      const fresh = await registerNode(url, '127.0.0.2');
      const look = await call(url, 'GET', `/look${q({ key: fresh.key, numnodes: 50 })}`);
      return look.status === 200 && (look.json as Array<{ id: string }>).every((n) => n.id !== lapsing.id) ? fresh : undefined;
    }, { what: 'the lapsed node to leave look', timeoutMs: 15_000, intervalMs: 100 });
    const check = await call(url, 'GET', `/check${q({ key: observer.key, target: lapsing.id })}`);
    // the observer itself may lapse on a slow machine (401); it must never vouch for the lapsed node
    expect([404, 401]).toContain(check.status);
    expect((await call(url, 'POST', '/heartbeat', { body: { key: lapsing.key } })).code).toBe('POINT_ERR_UNAUTHORIZED');
    // and the sweeper trims it from the id set
    const client = new Redis(redis.url);
    try {
      const prefix = open[0]!.prefix;
      await waitFor(async () => !(await client.sismember(`${prefix}nodes`, lapsing.id)), { what: 'the sweeper to trim the id', timeoutMs: 10_000 });
      expect(await client.exists(`${prefix}node:${lapsing.id}`, `${prefix}session:${lapsing.key}`)).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  test('malformed heartbeat bodies get 400', async () => {
    const url = await point();
    const node = await registerNode(url);
    expect((await call(url, 'POST', '/heartbeat', { body: { key: node.key, extra: 1 } })).code).toBe('POINT_ERR_BAD_REQUEST');
    expect((await call(url, 'POST', '/heartbeat', { body: { key: 'k'.repeat(200) } })).code).toBe('POINT_ERR_BAD_REQUEST');
    expect((await call(url, 'POST', '/heartbeat', { raw: '[]' })).code).toBe('POINT_ERR_BAD_REQUEST');
  });
});

describe('GET /look', () => {
  test('answers a random sample of other live nodes, never a session key', async () => {
    const url = await point();
    const nodes = [];
    for (let i = 0; i < 6; i++) nodes.push(await registerNode(url, `127.0.0.${i + 2}`, 7000 + i));
    const me = nodes[0]!;
    const look = await call(url, 'GET', `/look${q({ key: me.key, numnodes: 3 })}`);
    expect(look.status).toBe(200);
    const sample = look.json as Array<Record<string, unknown>>;
    expect(sample).toHaveLength(3);
    for (const entry of sample) {
      expect(Object.keys(entry).sort()).toEqual(['id', 'ip', 'port', 'publicKey']);
      expect(entry.id).not.toBe(me.id);
      const node = nodes.find((n) => n.id === entry.id)!;
      expect(entry).toEqual({ id: node.id, ip: node.ip, port: node.port, publicKey: node.publicKey });
    }
    const all = await call(url, 'GET', `/look${q({ key: me.key, numnodes: 100 })}`);
    expect((all.json as Array<{ id: string }>).map((n) => n.id).sort()).toEqual(nodes.slice(1).map((n) => n.id).sort());
    expect(JSON.stringify(all.json)).not.toContain(nodes[1]!.key);
    const defaults = await call(url, 'GET', `/look${q({ key: me.key })}`);
    expect((defaults.json as unknown[]).length).toBe(5);
  });

  test('clamps numnodes to the configured maximum', async () => {
    const url = await point({ maxSample: 2 });
    const me = await registerNode(url, '127.0.0.2');
    for (let i = 0; i < 4; i++) await registerNode(url, '127.0.0.3');
    expect((await call(url, 'GET', `/look${q({ key: me.key, numnodes: 50 })}`)).json).toHaveLength(2);
  });

  test('malformed queries get 400', async () => {
    const url = await point();
    const me = await registerNode(url);
    for (const numnodes of ['0', '-1', 'abc', '1.5', '1001', '']) {
      const answer = await call(url, 'GET', `/look${q({ key: me.key, numnodes })}`);
      expect([answer.status, answer.code], `numnodes=${numnodes}`).toEqual([400, 'POINT_ERR_BAD_REQUEST']);
    }
    expect((await call(url, 'GET', `/look${q({ key: me.key, numnodes: 2 })}&numnodes=3`)).status).toBe(400);
    expect((await call(url, 'GET', `/look${q({ key: me.key, other: 1 })}`)).status).toBe(400);
  });

  test('still works after Redis forgets the script (NOSCRIPT falls back to loading it)', async () => {
    const url = await point();
    const me = await registerNode(url, '127.0.0.2');
    await registerNode(url, '127.0.0.3');
    if (redis.private) {
      const client = new Redis(redis.url);
      await client.script('FLUSH');
      client.disconnect();
    }
    const look = await call(url, 'GET', `/look${q({ key: me.key, numnodes: 5 })}`);
    expect([look.status, (look.json as unknown[]).length]).toEqual([200, 1]);
  });
});

describe('GET /check', () => {
  test('answers the record of a live target, 404 for an unknown one, 400 for a malformed one', async () => {
    const url = await point();
    const me = await registerNode(url, '127.0.0.2');
    const other = await registerNode(url, '127.0.0.3', 7003);
    const found = await call(url, 'GET', `/check${q({ key: me.key, target: other.id })}`);
    expect(found.status).toBe(200);
    expect(found.json).toEqual({
      id: other.id, ip: '127.0.0.3', port: 7003, publicKey: other.publicKey,
      lastSeen: expect.any(String), expiresAt: expect.any(String), banlistFresh: true,
    });
    const unknown = await call(url, 'GET', `/check${q({ key: me.key, target: generateIdentity().id })}`);
    expect([unknown.status, unknown.code]).toEqual([404, 'POINT_ERR_NOT_FOUND']);
    for (const target of ['', 'nXYZ', 'n0123456789abcdeF', 'n0123456789abcdef0']) {
      expect((await call(url, 'GET', `/check${q({ key: me.key, target })}`)).code, target).toBe('POINT_ERR_BAD_REQUEST');
    }
    expect((await call(url, 'GET', `/check${q({ key: me.key })}`)).code).toBe('POINT_ERR_BAD_REQUEST');
  });
});

describe('POST /ban', () => {
  test('one rogue reporting many times bans nobody; two distinct reporters do', async () => {
    const url = await point();
    const rogue = await registerNode(url, '127.0.0.2');
    const honest = await registerNode(url, '127.0.0.3');
    const victim = await registerNode(url, '127.0.0.4');
    for (let i = 0; i < 5; i++) {
      const answer = await call(url, 'POST', '/ban', { from: rogue.ip, body: { key: rogue.key, ip: victim.ip, reason: 'I do not like it' } });
      expect([answer.status, answer.json]).toEqual([200, { ip: victim.ip, reports: 1, quorum: 2, banned: false }]);
    }
    // a second identity minted on the rogue's machine is still the same reporter
    const sybil = await registerNode(url, '127.0.0.2');
    expect((await call(url, 'POST', '/ban', { from: sybil.ip, body: { key: sybil.key, ip: victim.ip, reason: 'me too' } })).json).toMatchObject({ reports: 1, banned: false });
    expect((await call(url, 'GET', `/check${q({ key: honest.key, target: victim.id })}`)).status).toBe(200);

    const second = await call(url, 'POST', '/ban', { from: honest.ip, body: { key: honest.key, ip: `::ffff:${victim.ip}`, reason: 'sha256 mismatch' } });
    expect(second.status).toBe(200);
    expect(second.json).toEqual({ ip: victim.ip, reports: 2, quorum: 2, banned: true, expiresAt: expect.any(String) });
    expect(Date.parse((second.json as { expiresAt: string }).expiresAt)).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);

    // the banned node left the registry: its key is dead, nobody sees it, check does not vouch for it
    expect((await call(url, 'POST', '/heartbeat', { from: victim.ip, body: { key: victim.key } })).status).toBe(401);
    const look = await call(url, 'GET', `/look${q({ key: honest.key, numnodes: 50 })}`);
    expect((look.json as Array<{ ip: string }>).map((n) => n.ip)).not.toContain(victim.ip);
    expect((await call(url, 'GET', `/check${q({ key: honest.key, target: victim.id })}`)).status).toBe(404);
    // and it cannot come back, under its old identity or a new one
    const back = await call(url, 'POST', '/reg', { from: victim.ip, body: { port: 7000, publicKey: victim.publicKey } });
    expect([back.status, back.code]).toEqual([403, 'POINT_ERR_BANNED']);
    const fresh = await call(url, 'POST', '/reg', { from: victim.ip, body: { port: 7000, publicKey: generateIdentity().publicKey } });
    expect(fresh.status).toBe(403);
    // other addresses are unaffected
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.5', body: { port: 7000, publicKey: generateIdentity().publicKey } })).status).toBe(201);
  });

  test('a ban lapses after the configured period and the address may register again', async () => {
    const url = await point({ banDurationSec: 1 });
    const a = await registerNode(url, '127.0.0.2');
    const b = await registerNode(url, '127.0.0.3');
    await call(url, 'POST', '/ban', { from: a.ip, body: { key: a.key, ip: '127.0.0.9', reason: 'x' } });
    expect((await call(url, 'POST', '/ban', { from: b.ip, body: { key: b.key, ip: '127.0.0.9', reason: 'x' } })).json).toMatchObject({ banned: true });
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.9', body: { port: 7000, publicKey: generateIdentity().publicKey } })).status).toBe(403);
    await waitFor(async () => (await call(url, 'POST', '/reg', { from: '127.0.0.9', body: { port: 7000, publicKey: generateIdentity().publicKey } })).status === 201,
      { what: 'the ban to lapse', timeoutMs: 10_000, intervalMs: 100 });
  });

  test('malformed reports and self-reports get 400', async () => {
    const url = await point();
    const me = await registerNode(url, '127.0.0.2');
    const bad: Array<Record<string, unknown>> = [
      { key: me.key, ip: '999.1.1.1', reason: 'x' },
      { key: me.key, ip: 'example.com', reason: 'x' },
      { key: me.key, ip: '10.0.0.1' },
      { key: me.key, ip: '10.0.0.1', reason: '' },
      { key: me.key, ip: '10.0.0.1', reason: 'x'.repeat(501) },
      { key: me.key, ip: '10.0.0.1', reason: 'x', severity: 9 },
      { key: me.key, ip: me.ip, reason: 'I ban myself' },
      { key: me.key, ip: `::ffff:${me.ip}`, reason: 'I ban myself' },
    ];
    for (const body of bad) {
      const answer = await call(url, 'POST', '/ban', { from: me.ip, body });
      expect([answer.status, answer.code], JSON.stringify(body)).toEqual([400, 'POINT_ERR_BAD_REQUEST']);
    }
  });
});

describe('POST /remove', () => {
  test('a node reported unreachable by a quorum of distinct addresses is dropped', async () => {
    const url = await point();
    const a = await registerNode(url, '127.0.0.2');
    const b = await registerNode(url, '127.0.0.3');
    const gone = await registerNode(url, '127.0.0.4');
    for (let i = 0; i < 3; i++) {
      const answer = await call(url, 'POST', '/remove', { from: a.ip, body: { key: a.key, target: gone.id } });
      expect([answer.status, answer.json]).toEqual([200, { target: gone.id, reports: 1, quorum: 2, removed: false }]);
    }
    const second = await call(url, 'POST', '/remove', { from: b.ip, body: { key: b.key, target: gone.id } });
    expect(second.json).toEqual({ target: gone.id, reports: 2, quorum: 2, removed: true });
    expect((await call(url, 'GET', `/check${q({ key: a.key, target: gone.id })}`)).status).toBe(404);
    expect((await call(url, 'POST', '/heartbeat', { body: { key: gone.key } })).status).toBe(401);
    // it may register again (removal is not a ban)
    expect((await call(url, 'POST', '/reg', { from: gone.ip, body: { port: 7000, publicKey: gone.publicKey } })).status).toBe(201);
  });

  test('unknown targets get 404; self-reports and malformed bodies get 400', async () => {
    const url = await point();
    const me = await registerNode(url, '127.0.0.2');
    expect((await call(url, 'POST', '/remove', { body: { key: me.key, target: generateIdentity().id } })).status).toBe(404);
    expect((await call(url, 'POST', '/remove', { body: { key: me.key, target: me.id } })).status).toBe(400);
    expect((await call(url, 'POST', '/remove', { body: { key: me.key, target: 'x' } })).status).toBe(400);
    expect((await call(url, 'POST', '/remove', { body: { key: me.key } })).status).toBe(400);
  });
});

describe('GET /points', () => {
  test('answers the configured peer Points, at most count; none by default', async () => {
    const peers = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080'];
    const url = await point({ peerPoints: peers });
    const me = await registerNode(url);
    const all = await call(url, 'GET', `/points${q({ key: me.key, count: 10 })}`);
    expect((all.json as Array<{ url: string }>).map((p) => p.url).sort()).toEqual(peers);
    expect((await call(url, 'GET', `/points${q({ key: me.key, count: 2 })}`)).json).toHaveLength(2);
    expect((await call(url, 'GET', `/points${q({ key: me.key, count: 0 })}`)).status).toBe(400);
    const lonely = await point();
    const other = await registerNode(lonely);
    expect((await call(lonely, 'GET', `/points${q({ key: other.key })}`)).json).toEqual([]);
  });
});

describe('operations endpoints', () => {
  test('/healthz, /readyz, /metrics on its own registry, /openapi.json covering every route', async () => {
    const url = await point();
    await registerNode(url);
    const health = await call(url, 'GET', '/healthz');
    expect(health.json).toEqual({ status: 'ok', registry: { kind: 'redis', up: true }, banlist: { kind: 'postgres', up: true } });
    expect((await call(url, 'GET', '/readyz')).status).toBe(200);
    const metrics = await call(url, 'GET', '/metrics');
    expect(metrics.json).toContain('point_http_requests_total{route="/reg",method="POST",status="201"} 1');
    expect(metrics.json).toContain('point_registrations_total 1');
    expect(await globalRegister.getSingleMetricAsString('point_registrations_total').catch(() => 'absent')).toBe('absent');
    const doc = (await call(url, 'GET', '/openapi.json')).json as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    for (const [method, path] of POINT_ROUTES) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  test('unknown routes get 404 and wrong methods 405, as JSON', async () => {
    const url = await point();
    const missing = await call(url, 'GET', '/nope');
    expect([missing.status, missing.code]).toEqual([404, 'POINT_ERR_ROUTE_NOT_FOUND']);
    const wrong = await call(url, 'GET', '/reg');
    expect([wrong.status, wrong.code, wrong.headers.allow]).toEqual([405, 'POINT_ERR_METHOD_NOT_ALLOWED', 'POST']);
    expect((await call(url, 'DELETE', '/look')).status).toBe(405);
  });
});

describe('concurrency', () => {
  test('many clients registering and looking at once all get consistent answers', async () => {
    const url = await point({ maxSample: 1000 });
    const clients = 60;
    const regs = await Promise.all(Array.from({ length: clients }, (_, i) => registerNode(url, `127.0.${1 + (i % 3)}.${10 + i}`, 7000 + i)));
    expect(new Set(regs.map((r) => r.key)).size).toBe(clients);
    const [looks] = await Promise.all([
      Promise.all(regs.map((r) => call(url, 'GET', `/look${q({ key: r.key, numnodes: 8 })}`, { from: r.ip }))),
      Promise.all(regs.map((r) => call(url, 'POST', '/heartbeat', { from: r.ip, body: { key: r.key } }))),
      Promise.all(Array.from({ length: 20 }, (_, i) => registerNode(url, '127.0.9.1', 8000 + i))),
    ]);
    for (const [i, look] of looks.entries()) {
      expect(look.status).toBe(200);
      const ids = (look.json as Array<{ id: string }>).map((n) => n.id);
      expect(ids).toHaveLength(8);
      expect(new Set(ids).size).toBe(8);
      expect(ids).not.toContain(regs[i]!.id);
    }
    const all = await call(url, 'GET', `/look${q({ key: regs[0]!.key, numnodes: 1000 })}`);
    expect((all.json as unknown[]).length).toBe(clients + 20 - 1);
  });
});
