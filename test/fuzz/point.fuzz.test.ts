/**
 * Hostile input against a real Point process (SPEC §3.3) on real Redis and
 * PostgreSQL, with CLUSTER_SECRET set: malformed bodies and queries for every
 * call, valid shapes with a wrong session key or join token, wrong methods
 * and routes, raw malformed HTTP and slow clients. Every answer is checked
 * against the contract order of proposals/0004-point.md (413, then 400 for
 * what is not JSON or not an object, then 401 for a missing key, then 400 for
 * the schema, then 401 for a wrong key); after every property the registry
 * (every Redis key under the Point's prefix) and the banlist tables are
 * unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startCli, stopAll, waitHealthy, type CliProcess } from '../helpers/process.js';
import { freePort } from '../helpers/net.js';
import { nextHost } from '../helpers/cluster.js';
import { dropPrefix, freshDatabase, postgresForTests, redisForTests, uniquePrefix, type Service } from '../helpers/services.js';
import { generateIdentity } from '../../src/identity/keystore.js';
import { PointClient } from '../../src/bootstrap/client.js';
import { joinTokenFor } from '../../src/bootstrap/caller.js';
import { MAX_BODY_BYTES } from '../../src/bootstrap/schemas.js';
import { brokenJson, nodeId } from './arbitraries.js';
import { FC_OPTIONS, sendErrorCases, type ErrorCase, expectErrorAnswer, expectRawRefused, fails, FuzzClient, inBatches, rawExchange, type Expected } from './harness.js';

/** This file's share of the suite's 10,000 generated requests. */
const SHARE = 2500;
const BATCH = 16;
const SECRET = 'fuzz-cluster-secret';

let redis: Service;
let postgres: Service;
let db: { url: string; drop(): Promise<void> };
let prefix: string;
let proc: CliProcess;
let url: string;
let client: FuzzClient;
let generated = 0;
let before: string;
const legit: { key: string; id: string }[] = [];

async function observe(): Promise<string> {
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const out: unknown[] = [];
  try {
    const keys: string[] = [];
    let cursor = '0';
    for (let i = 0; i < 1000; i++) {
      const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    // the counters of challenges issued per TTL window lapse by themselves (the fixtures' registrations made one)
    for (const k of keys.sort().filter((key) => !key.startsWith(`${prefix}chalall:`))) {
      const type = await r.type(k);
      const value = type === 'hash' ? await r.hgetall(k) : type === 'set' ? (await r.smembers(k)).sort() : type === 'zset' ? await r.zrange(k, 0, -1, 'WITHSCORES')
        : type === 'string' ? await r.get(k) : type === 'list' ? await r.lrange(k, 0, -1) : type;
      out.push(k, type, value);
    }
  } finally {
    r.disconnect();
  }
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  try {
    const tables = await sql.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
    for (const { table_name: t } of tables.rows) out.push(t, (await sql.query(`SELECT * FROM "${t}" ORDER BY 1`)).rows);
  } finally {
    await sql.end();
  }
  return JSON.stringify(out);
}

async function expectUnchanged(): Promise<void> {
  const health = await client.send({ method: 'GET', path: '/healthz' });
  expect(health.status, `the Point stopped answering:\n${proc.output()}`).toBe(200);
  expect(proc.hasExited()).toBe(false);
  expect(await observe()).toBe(before);
}

type Case = ErrorCase;

async function runCases(cases: readonly Case[]): Promise<void> {
  generated += await sendErrorCases(client, cases);
}

beforeAll(async () => {
  redis = await redisForTests();
  postgres = await postgresForTests();
  db = await freshDatabase(postgres.url);
  prefix = uniquePrefix();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  proc = startCli(['bootstrap', '--host', '127.0.0.1', '--port', String(port), '--redis-url', redis.url, '--database-url', db.url,
    // thousands of requests from one address: the per-address rate limit (test/security/rate-limits.test.ts) is off here
    '--redis-prefix', prefix, '--heartbeat-ttl', '3600', '--ban-quorum', '2', '--rate-limit', '0'], { env: { CLUSTER_SECRET: SECRET } });
  await waitHealthy(proc, `${url}/healthz`);
  client = new FuzzClient(url, { connections: 8 });
  // Some state to keep: three registered nodes, one banned address, one unreachable report.
  for (let i = 0; i < 3; i++) {
    const identity = generateIdentity();
    const point = new PointClient({ url, localAddress: nextHost(), clusterSecret: SECRET });
    const reg = await point.reg({ port: 7000 + i, publicKey: identity.publicKey, sign: identity.sign });
    legit.push({ key: reg.key, id: reg.id });
    if (i < 2) await point.ban(reg.key, '10.9.9.9', 'fuzz fixture');
    await point.close();
  }
  const reporter = new PointClient({ url, localAddress: nextHost() });
  await reporter.remove((legit[0] as { key: string }).key, (legit[2] as { id: string }).id);
  await reporter.close();
  before = await observe();
}, 120_000);

afterAll(async () => {
  await client?.close();
  await proc?.stop(5000);
  await stopAll();
  await db?.drop().catch(() => undefined);
  if (redis !== undefined && !redis.private) await dropPrefix(redis.url, prefix).catch(() => undefined);
  await redis?.close();
  await postgres?.close();
});

const sessionKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64url'));
const publicKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64url'));
const ip = fc.oneof(fc.ipV4(), fc.ipV6()).filter((a) => !a.startsWith('127.'));

/** What a keyed POST (heartbeat, ban, remove) must answer for `body`, in the contract's order. */
function keyedExpectation(body: string | Buffer, label: string): Expected {
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return fails('POINT_ERR_BODY_TOO_LARGE');
  let value: unknown;
  try {
    // An empty body is no body: the JSON parser leaves `{}`, so the key is missing.
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
    value = text === '' ? {} : JSON.parse(text);
  } catch {
    return fails('POINT_ERR_BAD_REQUEST');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fails('POINT_ERR_BAD_REQUEST');
  const key = (value as { key?: unknown }).key;
  if (typeof key !== 'string' || key === '') return fails('POINT_ERR_UNAUTHORIZED');
  // The mutation left the key a string: it broke the schema (400), unless it only changed the key's text (401).
  return label === 'bad-utf8' ? fails('POINT_ERR_UNAUTHORIZED') : fails('POINT_ERR_BAD_REQUEST');
}

function regExpectation(body: string | Buffer, label: string): Expected {
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return fails('POINT_ERR_BODY_TOO_LARGE');
  return label === 'bad-utf8' ? fails('POINT_ERR_BAD_PUBLIC_KEY') : fails('POINT_ERR_BAD_REQUEST');
}

const json = { 'content-type': 'application/json' };

describe('the Point under generated bad input', () => {
  it('heartbeat, ban and remove: malformed bodies are 400/413, a missing key 401, a wrong key 401', async () => {
    const bases = fc.tuple(sessionKey, ip, nodeId, fc.string({ minLength: 1, maxLength: 50 })).chain(([key, addr, target, reason]) => fc.constantFrom(
      { path: '/heartbeat', base: { key } as Record<string, unknown> },
      { path: '/ban', base: { key, ip: addr, reason } as Record<string, unknown> },
      { path: '/remove', base: { key, target } as Record<string, unknown> },
    ));
    const broken = bases.chain(({ path, base }) => brokenJson(base).map(({ label, body }): Case => ({
      what: `${label}`, req: { method: 'POST', path, headers: json, body }, expect: keyedExpectation(body, label),
    })));
    const wrongKey = bases.map(({ path, base }): Case => ({ what: 'wrong key', req: { method: 'POST', path, headers: json, body: JSON.stringify(base) }, expect: fails('POINT_ERR_UNAUTHORIZED') }));
    const tooLarge = fc.tuple(bases, fc.integer({ min: MAX_BODY_BYTES + 1, max: 4 * MAX_BODY_BYTES })).map(([{ path, base }, n]): Case => ({
      what: 'too large', req: { method: 'POST', path, headers: json, body: JSON.stringify({ ...base, pad: 'x'.repeat(n) }) }, expect: fails('POINT_ERR_BODY_TOO_LARGE'),
    }));
    const notJsonType = bases.map(({ path, base }): Case => ({
      what: 'text/plain', req: { method: 'POST', path, headers: { 'content-type': 'text/plain' }, body: JSON.stringify(base) }, expect: fails('POINT_ERR_BAD_REQUEST'),
    }));
    const cases = fc.oneof({ arbitrary: broken, weight: 6 }, wrongKey, tooLarge, notJsonType);
    await fc.assert(fc.asyncProperty(fc.array(cases, { minLength: BATCH, maxLength: BATCH }), runCases), { ...FC_OPTIONS, numRuns: 70 });
    await expectUnchanged();
  });

  it('reg: malformed bodies are 400/413, a bad key or id 400, a wrong or missing join token 401', async () => {
    const base = fc.tuple(publicKey, fc.integer({ min: 1, max: 65535 }), sessionKey).map(([pk, port, token]) => ({ port, publicKey: pk, joinToken: token }));
    const broken = base.chain((b) => brokenJson(b, ['joinToken']).map(({ label, body }): Case => ({
      what: label, req: { method: 'POST', path: '/reg', headers: json, body }, expect: regExpectation(body, label),
    })));
    const wrongToken = base.map((b): Case => ({ what: 'wrong token', req: { method: 'POST', path: '/reg', headers: json, body: JSON.stringify(b) }, expect: fails('POINT_ERR_BAD_JOIN_TOKEN') }));
    const noToken = base.map((b): Case => ({ what: 'no token', req: { method: 'POST', path: '/reg', headers: json, body: JSON.stringify({ port: b.port, publicKey: b.publicKey }) }, expect: fails('POINT_ERR_BAD_JOIN_TOKEN') }));
    const badKey = fc.tuple(base, fc.oneof(fc.integer({ min: 1, max: 42 }), fc.integer({ min: 44, max: 64 })).chain((n) => fc.stringMatching(new RegExp(`^[A-Za-z0-9_-]{${n}}$`))))
      .map(([b, pk]): Case => ({ what: 'bad public key', req: { method: 'POST', path: '/reg', headers: json, body: JSON.stringify({ ...b, publicKey: pk }) }, expect: fails('POINT_ERR_BAD_PUBLIC_KEY') }));
    const idMismatch = fc.tuple(base, nodeId).map(([b, id]): Case => ({
      what: 'id mismatch', req: { method: 'POST', path: '/reg', headers: json, body: JSON.stringify({ ...b, id }) }, expect: fails('POINT_ERR_ID_MISMATCH'),
    }));
    // a right join token but no proof of key possession, or a proof that does not hold (the challenge was never issued)
    const withToken = base.map((b) => ({ ...b, joinToken: joinTokenFor(SECRET, b.publicKey) }));
    const noProof = withToken.map((b): Case => ({ what: 'no proof', req: { method: 'POST', path: '/reg', headers: json, body: JSON.stringify(b) }, expect: fails('POINT_ERR_PROOF_REQUIRED') }));
    const badProof = fc.tuple(withToken, publicKey, fc.uint8Array({ minLength: 64, maxLength: 64 })).map(([b, challenge, sig]): Case => ({
      what: 'bad proof', req: { method: 'POST', path: '/reg', headers: json, body: JSON.stringify({ ...b, challenge, signature: Buffer.from(sig).toString('base64url') }) }, expect: fails('POINT_ERR_BAD_PROOF'),
    }));
    const cases = fc.oneof({ arbitrary: broken, weight: 4 }, wrongToken, noToken, badKey, idMismatch, noProof, badProof);
    await fc.assert(fc.asyncProperty(fc.array(cases, { minLength: BATCH, maxLength: BATCH }), runCases), { ...FC_OPTIONS, numRuns: 35 });
    await expectUnchanged();
  });

  it('look, check and points: malformed queries are 400, a missing key 401, a wrong key 401', async () => {
    const badCount = fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 1001 }), fc.constantFrom('1.5', 'abc', 'Infinity', 'NaN', '10abc', '', '-0'));
    const other = fc.stringMatching(/^[a-z_]{1,10}$/).filter((k) => !['key', 'numnodes', 'count', 'target'].includes(k));
    const endpoint = fc.constantFrom(
      { path: '/look', count: 'numnodes', needsTarget: false },
      { path: '/points', count: 'count', needsTarget: false },
      { path: '/check', count: undefined, needsTarget: true },
    );
    const q = (params: [string, string][]): string => params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const cases = fc.tuple(endpoint, sessionKey, nodeId, fc.nat(6), badCount, other, fc.string({ maxLength: 10 }), fc.integer({ min: 129, max: 400 }), fc.string({ maxLength: 30 }).filter((t) => !/^n[0-9a-f]{16}$/.test(t)))
      .map(([e, key, target, variant, count, name, value, long, junkTarget]): Case => {
        const valid: [string, string][] = [['key', key], ...(e.needsTarget ? [['target', target] as [string, string]] : [])];
        const make = (params: [string, string][], expected: Expected, what: string): Case => ({ what, req: { method: 'GET', path: `${e.path}?${q(params)}` }, expect: expected });
        switch (variant) {
          case 0: return make(valid.filter(([k]) => k !== 'key'), fails('POINT_ERR_UNAUTHORIZED'), 'no key');
          case 1: return make([['key', ''], ...valid.slice(1)], fails('POINT_ERR_UNAUTHORIZED'), 'empty key');
          case 2: return make([...valid, ['key', key]], fails('POINT_ERR_UNAUTHORIZED'), 'key twice');
          case 3: return make([...valid, [name, value]], fails('POINT_ERR_BAD_REQUEST'), `unknown ${name}`);
          case 4: return e.count === undefined
            ? make([['key', key], ['target', junkTarget]], fails('POINT_ERR_BAD_REQUEST'), 'bad target')
            : make([...valid, [e.count, String(count)]], fails('POINT_ERR_BAD_REQUEST'), `bad ${e.count}=${count}`);
          case 5: return make([['key', 'k'.repeat(long)], ...valid.slice(1)], fails('POINT_ERR_BAD_REQUEST'), 'key too long');
          default: return make(valid, fails('POINT_ERR_UNAUTHORIZED'), 'wrong key');
        }
      });
    await fc.assert(fc.asyncProperty(fc.array(cases, { minLength: BATCH, maxLength: BATCH }), runCases), { ...FC_OPTIONS, numRuns: 40 });
    await expectUnchanged();
  });

  it('wrong methods are 405 with Allow, unknown routes 404', async () => {
    const routes = ['/reg', '/reg/challenge', '/heartbeat', '/ban', '/remove', '/look', '/check', '/points'];
    const method = fc.tuple(fc.constantFrom(...routes), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'))
      .filter(([p, m]) => (['/look', '/check', '/points'].includes(p) ? m !== 'GET' : m !== 'POST'))
      .map(([p, m]): Case => ({ what: 'method', req: { method: m, path: p }, expect: fails('POINT_ERR_METHOD_NOT_ALLOWED') }));
    const unknown = fc.stringMatching(/^[a-z0-9._-]{1,30}$/).filter((p) => !['reg', 'heartbeat', 'ban', 'remove', 'look', 'check', 'points', 'healthz', 'readyz', 'metrics', 'openapi.json'].includes(p))
      .map((p): Case => ({ what: 'route', req: { method: 'GET', path: `/${p}` }, expect: fails('POINT_ERR_ROUTE_NOT_FOUND') }));
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(method, unknown), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
      await inBatches(batch, 8, async (c) => {
        generated++;
        const answer = await client.send(c.req);
        expectErrorAnswer(answer, c.expect, `${c.req.method} ${c.req.path}`);
        if (answer.status === 405) expect(answer.headers.allow).toMatch(/^(GET|POST)$/);
      });
    }), { ...FC_OPTIONS, numRuns: 10 });
    await expectUnchanged();
  });

  it('raw malformed HTTP, truncated bodies and slow clients: a 4xx or a closed connection, and the Point keeps serving', async () => {
    const raw = fc.oneof(
      fc.nat(30).map((n) => ({ chunks: [`POST /heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${n + 100}\r\n\r\n{"key":"${'a'.repeat(n)}`], then: 'end' as const })),
      fc.constantFrom('-1', 'abc', '1 2').map((l) => ({ chunks: [`POST /reg HTTP/1.1\r\nHost: x\r\nContent-Length: ${l}\r\n\r\n{}`], then: 'wait' as const })),
      fc.constant({ chunks: ['POST /reg HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'], then: 'wait' as const }),
      fc.constant({ chunks: ['POST /reg HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'], then: 'wait' as const }),
      fc.integer({ min: 17_000, max: 40_000 }).map((n) => ({ chunks: [`GET /look?key=${'k'.repeat(n)} HTTP/1.1\r\nHost: x\r\n\r\n`], then: 'wait' as const })),
      fc.uint8Array({ minLength: 1, maxLength: 300 }).filter((b) => !/^[A-Z]+ /.test(Buffer.from(b).toString('latin1'))).map((b) => ({ chunks: [Buffer.concat([Buffer.from(b), Buffer.from('\r\n\r\n')])], then: 'wait' as const })),
    );
    await fc.assert(fc.asyncProperty(fc.array(raw, { minLength: 8, maxLength: 8 }), async (batch) => {
      await inBatches(batch, 8, async (c) => {
        generated++;
        const port = Number(new URL(url).port);
        expectRawRefused(await rawExchange('127.0.0.1', port, c.chunks, { then: c.then, timeoutMs: 15_000 }), [400, 413, 431], String(c.chunks[0]).slice(0, 60));
      });
    }), { ...FC_OPTIONS, numRuns: 15 });

    // Slow clients: headers and a body dribbled a line at a time; the Point answers them
    // when they finish, and serves everyone else meanwhile.
    const port = Number(new URL(url).port);
    const dribble = (lines: string[]): Promise<string> => new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      let out = '';
      let i = 0;
      s.on('data', (d: Buffer) => {
        out += d.toString();
        if (/\r\n\r\n[\s\S]*\}$/.test(out)) {
          s.destroy();
          resolve(out);
        }
      });
      s.on('error', reject);
      const timer = setInterval(() => {
        const line = lines[i++];
        if (line === undefined) clearInterval(timer);
        else s.write(line);
      }, 40);
    });
    const body = JSON.stringify({ key: randomBytes(32).toString('base64url') });
    const slow = Array.from({ length: 4 }, () => {
      generated++;
      return dribble(['POST /heartbeat HTTP/1.1\r\n', 'Host: x\r\n', 'Content-Type: application/json\r\n', `Content-Length: ${body.length}\r\n`, '\r\n', ...body.match(/.{1,4}/g) as string[]]);
    });
    for (let i = 0; i < 5; i++) expect((await client.send({ method: 'GET', path: '/healthz' })).status).toBe(200);
    for (const out of await Promise.all(slow)) {
      expect(out).toMatch(/^HTTP\/1\.1 401/);
      expect(out).toContain('POINT_ERR_UNAUTHORIZED');
    }
    await expectUnchanged();
  });

  it('after all of it: valid calls behave normally (no prototype pollution), and the count is proven', async () => {
    const point = new PointClient({ url, localAddress: nextHost(), clusterSecret: SECRET });
    const identity = generateIdentity();
    const reg = await point.reg({ port: 7100, publicKey: identity.publicKey, sign: identity.sign });
    expect(Object.keys(reg).sort()).toEqual(['id', 'key', 'ttl']);
    expect((await point.heartbeat(reg.key)).id).toBe(identity.id);
    const seen = await point.look(reg.key, 10);
    expect(seen.map((n) => n.id).sort()).toEqual(legit.map((n) => n.id).sort());
    for (const n of seen) expect(Object.keys(n).sort()).toEqual(['id', 'ip', 'port', 'publicKey']);
    await point.close();
    expect(generated).toBeGreaterThanOrEqual(SHARE);
    console.log(`point fuzz: ${generated} generated hostile requests (${client.sent} over keep-alive in all, snapshots included)`);
  });
});
