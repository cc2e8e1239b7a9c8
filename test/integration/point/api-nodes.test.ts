/**
 * The Point's node-facing calls over real HTTP, on real Redis and real
 * PostgreSQL: reg, session-key authentication, heartbeat and TTL expiry,
 * look and check, with every error status and malformed input.
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import { joinTokenFor } from '../../../src/bootstrap/caller.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { waitFor } from '../../helpers/wait.js';
import { call, pointsOnRealBackends, provenReg, q, registerNode } from './harness.js';

const backends = pointsOnRealBackends();
const point = backends.point;

describe('POST /reg', () => {
  test('registers the caller with the address of its socket and answers {id, key, ttl}', async () => {
    const url = await point();
    const identity = generateIdentity();
    const { id, publicKey } = identity;
    const reg = await call(url, 'POST', '/reg', { from: '127.0.0.2', body: await provenReg(url, identity, 7001, { id }), headers: { 'x-forwarded-for': '10.9.9.9' } });
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
    const elsewhere = await call(url, 'POST', '/reg', { from: '127.0.0.3', body: await provenReg(url, node.identity, 7000) });
    expect([elsewhere.status, elsewhere.code]).toEqual([409, 'POINT_ERR_ID_TAKEN']);
    const again = await call(url, 'POST', '/reg', { from: '127.0.0.2', body: await provenReg(url, node.identity, 7009) });
    expect(again.status).toBe(201);
    // the old session key stopped working
    expect((await call(url, 'POST', '/heartbeat', { body: { key: node.key } })).status).toBe(401);
    expect((await call(url, 'POST', '/heartbeat', { body: { key: (again.json as { key: string }).key } })).status).toBe(200);
  });

  test('with CLUSTER_SECRET set, a missing or wrong join token gets 401', async () => {
    const secret = 'correct horse battery staple';
    const url = await point({ clusterSecret: secret });
    const identity = generateIdentity();
    const { publicKey } = identity;
    const missing = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey } });
    expect([missing.status, missing.code]).toEqual([401, 'POINT_ERR_BAD_JOIN_TOKEN']);
    const wrong = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey, joinToken: joinTokenFor('another secret', publicKey) } });
    expect([wrong.status, wrong.code]).toEqual([401, 'POINT_ERR_BAD_JOIN_TOKEN']);
    const raw = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey, joinToken: secret } });
    expect(raw.status).toBe(401);
    // a token for another key does not transfer
    const stolen = await call(url, 'POST', '/reg', { body: { port: 7000, publicKey, joinToken: joinTokenFor(secret, generateIdentity().publicKey) } });
    expect(stolen.status).toBe(401);
    const right = await call(url, 'POST', '/reg', { body: await provenReg(url, identity, 7000, { joinToken: joinTokenFor(secret, publicKey) }) });
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
    const client = new Redis(backends.redisUrl());
    try {
      const prefix = backends.prefix();
      await waitFor(async () => !(await client.sismember(`${prefix}nodes`, lapsing.id)), { what: 'the sweeper to trim the id', timeoutMs: 10_000 });
      const sha = createHash('sha256').update(lapsing.key).digest('base64url');
      expect(await client.exists(`${prefix}node:${lapsing.id}`, `${prefix}session:${sha}`)).toBe(0);
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
    if (backends.redisPrivate()) {
      const client = new Redis(backends.redisUrl());
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
