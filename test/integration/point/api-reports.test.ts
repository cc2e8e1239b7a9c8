/**
 * The Point's report and operations calls over real HTTP, on real Redis and
 * real PostgreSQL: the quorum ban and its expiry, unreachable reports,
 * /points, /healthz, /readyz, /metrics, /openapi.json, unknown routes, and
 * many concurrent clients.
 */
import { describe, expect, test } from 'vitest';
import { register as globalRegister } from 'prom-client';
import { POINT_ROUTES } from '../../../src/bootstrap/app.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { waitFor } from '../../helpers/wait.js';
import { call, pointsOnRealBackends, provenReg, q, registerNode } from './harness.js';

const backends = pointsOnRealBackends();
const point = backends.point;

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
    const back = await call(url, 'POST', '/reg', { from: victim.ip, body: await provenReg(url, victim.identity) });
    expect([back.status, back.code]).toEqual([403, 'POINT_ERR_BANNED']);
    const fresh = await call(url, 'POST', '/reg', { from: victim.ip, body: await provenReg(url, generateIdentity()) });
    expect(fresh.status).toBe(403);
    // other addresses are unaffected
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.5', body: await provenReg(url, generateIdentity()) })).status).toBe(201);
  });

  test('a ban lapses after the configured period and the address may register again', async () => {
    const url = await point({ banDurationSec: 1 });
    const a = await registerNode(url, '127.0.0.2');
    const b = await registerNode(url, '127.0.0.3');
    await call(url, 'POST', '/ban', { from: a.ip, body: { key: a.key, ip: '127.0.0.9', reason: 'x' } });
    expect((await call(url, 'POST', '/ban', { from: b.ip, body: { key: b.key, ip: '127.0.0.9', reason: 'x' } })).json).toMatchObject({ banned: true });
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.9', body: await provenReg(url, generateIdentity()) })).status).toBe(403);
    await waitFor(async () => (await call(url, 'POST', '/reg', { from: '127.0.0.9', body: await provenReg(url, generateIdentity()) })).status === 201,
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
    expect((await call(url, 'POST', '/reg', { from: gone.ip, body: await provenReg(url, gone.identity) })).status).toBe(201);
  });

  test('unknown targets get 404; malformed bodies get 400', async () => {
    const url = await point();
    const me = await registerNode(url, '127.0.0.2');
    expect((await call(url, 'POST', '/remove', { body: { key: me.key, target: generateIdentity().id } })).status).toBe(404);
    expect((await call(url, 'POST', '/remove', { body: { key: me.key, target: 'x' } })).status).toBe(400);
    expect((await call(url, 'POST', '/remove', { body: { key: me.key } })).status).toBe(400);
  });

  test('a node naming itself leaves at once (graceful shutdown), no quorum needed', async () => {
    const url = await point();
    const me = await registerNode(url, '127.0.0.2');
    const other = await registerNode(url, '127.0.0.3');
    const answer = await call(url, 'POST', '/remove', { body: { key: me.key, target: me.id } });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ target: me.id, removed: true });
    expect((await call(url, 'POST', '/heartbeat', { body: { key: me.key } })).status).toBe(401);
    const seen = await call(url, 'GET', `/look${q({ key: other.key, numnodes: 10 })}`);
    expect((seen.json as { id: string }[]).map((n) => n.id)).not.toContain(me.id);
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
