/**
 * Hostile input against the node-to-node endpoints of a real cluster (the
 * Point on real Redis and PostgreSQL, two node processes on their own
 * loopback addresses). Unsigned and badly signed requests are refused with
 * the right 401; correctly signed requests from a real registered member (so
 * validation itself is reached) carrying malformed messages are 400
 * GOSSIP_ERR_BAD_MESSAGE. Only node 0 is fuzzed, so one reporter never makes
 * the ban quorum. After every property both nodes are alive and their stores
 * are unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { startCluster, waitMembership, nextHost, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/net.js';
import { generateIdentity, type NodeIdentity } from '../../src/identity/keystore.js';
import { signRequest, SIGNATURE_HEADERS } from '../../src/gossip/shell/signing.js';
import { PointClient } from '../../src/bootstrap/client.js';
import { LIMITS, PROTOCOL_VERSION, PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN } from '../../src/gossip/core/messages.js';
import { badGuidSegment, brokenJson, hexString } from './arbitraries.js';
import { FC_OPTIONS, sendErrorCases, type ErrorCase, expectRawRefused, fails, FuzzClient, inBatches, rawExchange, type Expected } from './harness.js';

/** This file's share of the suite's 10,000 generated requests. */
const SHARE = 2400;
const BATCH = 16;

let cluster: Cluster;
let target: ClusterNode;
let rogue: { identity: NodeIdentity; host: string; key: string; point: PointClient; heartbeat: NodeJS.Timeout };
let client: FuzzClient;
/** one plain pool per node, for snapshots */
let observers: FuzzClient[] = [];
let generated = 0;
let before: string;
const keys: string[] = [];

const nonce = (): string => randomBytes(16).toString('base64url');
const signed = (identity: NodeIdentity, method: string, path: string, body: string | Buffer = ''): Record<string, string> =>
  signRequest(identity, method, path, body, Date.now(), nonce());

async function observe(): Promise<string> {
  const out: unknown[] = [];
  for (const node of observers) {
    const list = await node.send({ method: 'GET', path: '/blobs?limit=1000' });
    out.push(list.text);
    for (const key of keys) {
      // Owners follow membership (the fuzzing member is a member only while it heartbeats): not stored data.
      const versions = (await node.send({ method: 'GET', path: `/blobs/${key}/versions` })).text;
      out.push(versions.startsWith('{') ? JSON.stringify(JSON.parse(versions, (k, v: unknown) => (k === 'owners' ? undefined : v))) : versions);
      out.push(createHash('sha256').update((await node.send({ method: 'GET', path: `/blobs/${key}` })).text).digest('hex'));
    }
  }
  return JSON.stringify(out);
}

async function expectUnchanged(): Promise<void> {
  for (const [i, node] of cluster.nodes.entries()) {
    expect(node.proc.hasExited(), node.proc.output()).toBe(false);
    expect((await (observers[i] as FuzzClient).send({ method: 'GET', path: '/healthz' })).status).toBe(200);
  }
  expect(await observe()).toBe(before);
}

type Case = ErrorCase;

async function runCases(cases: readonly Case[]): Promise<void> {
  generated += await sendErrorCases(client, cases);
}

beforeAll(async () => {
  cluster = await startCluster(2);
  await waitMembership(cluster.nodes);
  target = cluster.nodes[0] as ClusterNode;
  // A real member: its own key, its own loopback address, registered with the Point.
  const identity = generateIdentity();
  const host = nextHost();
  const point = new PointClient({ url: cluster.point.url, localAddress: host });
  const reg = await point.reg({ port: await freePort(host), ...identity });
  // The cluster's Point lapses registrations after 3 s; keep this one alive for the file.
  const heartbeat = setInterval(() => { void point.heartbeat(reg.key).catch(() => undefined); }, 1000);
  rogue = { identity, host, key: reg.key, point, heartbeat };
  client = new FuzzClient(target.url, { localAddress: host, connections: 8 });
  observers = cluster.nodes.map((n) => new FuzzClient(n.url, { connections: 2 }));
  for (let i = 0; i < 3; i++) {
    const key = randomUUID();
    keys.push(key);
    expect((await client.send({ method: 'PUT', path: `/blobs/${key}`, body: `gossip fuzz fixture ${i}` })).status).toBe(201);
  }
  // Wait until the other node holds every body, so the snapshot is of a settled cluster.
  await waitFor(async () => {
    for (const key of keys) {
      const v = await (observers[1] as FuzzClient).send({ method: 'GET', path: `/blobs/${key}/versions` });
      if (v.status !== 200 || !(JSON.parse(v.text) as { winner: { bodyHeld: boolean } }).winner.bodyHeld) return false;
    }
    return true;
  }, { what: 'the fixture blobs to replicate', timeoutMs: 60_000, intervalMs: 200 });
  // A correctly signed ping from the member is accepted: the fuzz below reaches validation.
  const ping = JSON.stringify({ v: PROTOCOL_VERSION, from: identity.id, type: 'ping', seq: 1 });
  const ok = await client.send({ method: 'POST', path: '/gossip/message', body: ping, headers: { 'content-type': 'application/json', ...signed(identity, 'POST', '/gossip/message', ping) } });
  expect(ok.status, ok.text).toBe(204);
  before = await observe();
}, 180_000);

afterAll(async () => {
  if (rogue !== undefined) {
    clearInterval(rogue.heartbeat);
    await rogue.point.close();
  }
  await client?.close();
  await Promise.all(observers.map((o) => o.close()));
  await cluster?.close();
});

/** Valid messages from `from`, to be broken. */
function bases(from: string): { base: Record<string, unknown>; optional: string[] }[] {
  const sha = createHash('sha256').update('x').digest('hex');
  const base = { v: PROTOCOL_VERSION, from };
  const optional = ['updates', 'by', 'children', 'cacheControl', from];
  return [
    { base: { ...base, type: 'ping', seq: 0 }, optional },
    { base: { ...base, type: 'ack', seq: 0 }, optional },
    { base: { ...base, type: 'members', members: [{ id: from, address: '127.0.0.1:9', publicKey: 'A'.repeat(43), incarnation: 0, state: 'alive' }], reply: false }, optional },
    {
      base: {
        ...base, type: 'versions', hops: 0, held: [sha],
        versions: [{ key: randomUUID(), clock: { [from]: 1 }, timestamp: { wall: 1, logical: 0 }, origin: from, sha256: sha, size: 1, contentType: 'text/plain', tombstone: false }],
      },
      optional,
    },
    { base: { ...base, type: 'ae-want', sid: 'fuzz', keys: [randomUUID()] }, optional },
    { base: { ...base, type: 'ae-keys', sid: 'fuzz', buckets: ['0a'], keys: [[randomUUID(), '0123456789abcdef']] }, optional },
    { base: { ...base, type: 'leave', incarnation: 0 }, optional },
  ];
}

const message = '/gossip/message';
const json = { 'content-type': 'application/json' };

describe('gossip endpoints under generated bad input', () => {
  it('signed by a registered member, malformed messages are 400 GOSSIP_ERR_BAD_MESSAGE', async () => {
    const from = rogue.identity.id;
    const broken = fc.constantFrom(...bases(from)).chain(({ base, optional }) => brokenJson(base, optional));
    const otherSender = fc.constantFrom(...cluster.nodes.map((n) => n.id)).map((id) => ({ label: 'from another node', body: JSON.stringify({ v: PROTOCOL_VERSION, from: id, type: 'ping', seq: 1 }) }));
    const badVersion = fc.oneof(fc.integer({ max: PROTOCOL_VERSION_MIN - 1 }), fc.integer({ min: PROTOCOL_VERSION_MAX + 1 })).map((v) => ({ label: `v=${v}`, body: JSON.stringify({ v, from, type: 'ping', seq: 1 }) }));
    const badType = fc.stringMatching(/^[a-z-]{1,12}$/).filter((t) => !['ping', 'ack', 'ping-req', 'nack', 'members', 'versions', 'ae-nodes', 'ae-keys', 'ae-want', 'leave'].includes(t))
      .map((type) => ({ label: `type=${type}`, body: JSON.stringify({ v: PROTOCOL_VERSION, from, type, seq: 1 }) }));
    const overLimit = fc.constantFrom(
      { label: 'versions > max', body: JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'versions', versions: Array.from({ length: LIMITS.maxVersions + 1 }, () => ({})), held: [], hops: 0 }) },
      { label: 'held > max', body: JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'versions', versions: [], held: Array.from({ length: LIMITS.maxHeld + 1 }, () => 'a'.repeat(64)), hops: 0 }) },
      { label: 'updates > max', body: JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'ping', seq: 1, updates: Array.from({ length: LIMITS.maxPiggybackUpdates + 1 }, () => ({})) }) },
      { label: 'ae keys > max', body: JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'ae-want', sid: 'x', keys: Array.from({ length: LIMITS.maxAeWant + 1 }, () => randomUUID()) }) },
      { label: 'hops > max', body: JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'versions', versions: [], held: [], hops: LIMITS.maxHops + 1 }) },
      { label: 'body > 1 MiB', body: JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'ping', seq: 1, pad: 'x'.repeat(LIMITS.maxMessageBytes) }) },
    );
    const cases = fc.oneof({ arbitrary: broken, weight: 8 }, otherSender, badVersion, badType, overLimit).map(({ label, body }): Case => ({
      what: label, req: { method: 'POST', path: message, headers: { ...json, ...signed(rogue.identity, 'POST', message, body) }, body }, expect: fails('GOSSIP_ERR_BAD_MESSAGE'),
    }));
    await fc.assert(fc.asyncProperty(fc.array(cases, { minLength: BATCH, maxLength: BATCH }), runCases), { ...FC_OPTIONS, numRuns: 85 });
    await expectUnchanged();
  });

  it('unsigned, badly signed, stale, replayed and unregistered requests are 401 with the code naming why', async () => {
    const me = rogue.identity;
    const stranger = generateIdentity();
    const ping = JSON.stringify({ v: PROTOCOL_VERSION, from: me.id, type: 'ping', seq: 2 });
    const names = Object.values(SIGNATURE_HEADERS);
    const withHeaders = (headers: Record<string, string>, what: string, expected: Expected, body = ping): Case => ({ what, req: { method: 'POST', path: message, headers: { ...json, ...headers }, body }, expect: expected });
    const cases = fc.oneof(
      fc.subarray(names, { maxLength: names.length - 1 }).map((keep) => {
        const all = signed(me, 'POST', message, ping);
        return withHeaders(Object.fromEntries(keep.map((k) => [k, all[k] as string])), `only ${keep.join(',')}`, fails('GOSSIP_ERR_UNSIGNED'));
      }),
      fc.constant(null).map(() => withHeaders({ ...signed(me, 'POST', message, ping), [SIGNATURE_HEADERS.node]: stranger.id }, 'id of another key', fails('GOSSIP_ERR_BAD_SIGNATURE'))),
      fc.oneof(fc.stringMatching(/^[0-9]{17,20}$/), fc.stringMatching(/^[0-9]{0,5}[a-z.+-][0-9]{0,5}$/), fc.constant('')).map((ts) =>
        withHeaders({ ...signed(me, 'POST', message, ping), [SIGNATURE_HEADERS.timestamp]: ts }, `timestamp ${ts}`, fails('GOSSIP_ERR_BAD_SIGNATURE'))),
      fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,15}$/), fc.stringMatching(/^[A-Za-z0-9_-]{65,90}$/), fc.stringMatching(/^[A-Za-z0-9_-]{8}[.+/=!][A-Za-z0-9_-]{8}$/)).map((n) =>
        withHeaders({ ...signed(me, 'POST', message, ping), [SIGNATURE_HEADERS.nonce]: n }, `nonce ${n}`, fails('GOSSIP_ERR_BAD_SIGNATURE'))),
      fc.integer({ min: 129, max: 400 }).map((n) => withHeaders({ ...signed(me, 'POST', message, ping), [SIGNATURE_HEADERS.signature]: 'A'.repeat(n) }, 'long signature', fails('GOSSIP_ERR_BAD_SIGNATURE'))),
      fc.oneof(fc.integer({ min: 301_000, max: 10 ** 9 }), fc.integer({ min: -(10 ** 9), max: -301_000 })).map((skew) =>
        withHeaders(signRequest(me, 'POST', message, ping, Date.now() + skew, nonce()), `skew ${skew}`, fails('GOSSIP_ERR_STALE'))),
      fc.stringMatching(/^[A-Za-z0-9_-]{86}$/).map((sig) => withHeaders({ ...signed(me, 'POST', message, ping), [SIGNATURE_HEADERS.signature]: sig }, 'forged signature', fails('GOSSIP_ERR_BAD_SIGNATURE'))),
      fc.constantFrom('GET', 'PUT').map((m) => withHeaders(signed(me, m, message, ping), `signed for ${m}`, fails('GOSSIP_ERR_BAD_SIGNATURE'))),
      fc.string({ maxLength: 20 }).map((other) => withHeaders(signed(me, 'POST', message, `${ping}${other} `), 'signed another body', fails('GOSSIP_ERR_BAD_SIGNATURE'))),
      fc.constant(null).map(() => {
        const body = JSON.stringify({ v: PROTOCOL_VERSION, from: stranger.id, type: 'ping', seq: 1 });
        return withHeaders(signed(stranger, 'POST', message, body), 'unregistered sender', fails('GOSSIP_ERR_UNKNOWN_PEER'), body);
      }),
      fc.constant(null).map(() => ({ what: 'unsigned, over 1 MiB', req: { method: 'POST', path: message, headers: json, body: 'x'.repeat(LIMITS.maxMessageBytes + 1) }, expect: fails('GOSSIP_ERR_BAD_MESSAGE') })),
    );
    await fc.assert(fc.asyncProperty(fc.array(cases, { minLength: BATCH, maxLength: BATCH }), runCases), { ...FC_OPTIONS, numRuns: 40 });
    // A replay of a request that was accepted.
    const headers = signed(me, 'POST', message, ping);
    expect((await client.send({ method: 'POST', path: message, headers: { ...json, ...headers }, body: ping })).status).toBe(204);
    await runCases(Array.from({ length: 4 }, () => withHeaders(headers, 'replay', fails('GOSSIP_ERR_REPLAY'))));
    await expectUnchanged();
  });

  it('body and key fetches with bad hashes and GUIDs, unsigned fetches and unknown routes', async () => {
    const me = rogue.identity;
    const badSha = fc.oneof(
      fc.nat(63).chain((n) => hexString(n)).filter((s) => s.length > 0),
      hexString(64).map((h) => h.toUpperCase()).filter((h) => /[A-F]/.test(h)),
      hexString(63).map((h) => `${h}g`),
      badGuidSegment,
    );
    const cases = fc.oneof(
      badSha.map((s): Case => ({ what: 'bad sha', req: { method: 'GET', path: `/gossip/bodies/${s}`, headers: signed(me, 'GET', `/gossip/bodies/${s}`) }, expect: fails('GOSSIP_ERR_BAD_MESSAGE') })),
      badGuidSegment.map((g): Case => ({
        what: 'bad guid', req: { method: 'GET', path: `/gossip/keys/${g}`, headers: signed(me, 'GET', `/gossip/keys/${g}`) },
        // a segment that does not percent-decode fails in the router, before the handler
        expect: { status: 400, codes: ['CDN_ERR_BAD_GUID', 'GOSSIP_ERR_BAD_MESSAGE'] },
      })),
      fc.oneof(hexString(64).map((h) => `/gossip/bodies/${h}`), fc.uuid().map((u) => `/gossip/keys/${u}`))
        .map((p): Case => ({ what: 'unsigned fetch', req: { method: 'GET', path: p }, expect: fails('GOSSIP_ERR_UNSIGNED') })),
      fc.stringMatching(/^[a-z0-9-]{1,20}$/).filter((p) => !['message', 'bodies', 'keys'].includes(p))
        .map((p): Case => ({ what: 'unknown route', req: { method: 'POST', path: `/gossip/${p}`, body: '{}' }, expect: fails('CDN_ERR_ROUTE_NOT_FOUND') })),
      fc.constantFrom('GET', 'PUT', 'DELETE').map((m): Case => ({ what: 'method', req: { method: m, path: message }, expect: fails('CDN_ERR_ROUTE_NOT_FOUND') })),
    );
    await fc.assert(fc.asyncProperty(fc.array(cases, { minLength: BATCH, maxLength: BATCH }), runCases), { ...FC_OPTIONS, numRuns: 25 });
    await expectUnchanged();
  });

  it('raw malformed, truncated and oversized chunked gossip: a 4xx or a closed connection', async () => {
    const raw = fc.oneof(
      fc.integer({ min: 10, max: 5000 }).map((n) => ({ chunks: [`POST ${message} HTTP/1.1\r\nHost: x\r\nContent-Length: ${n * 2}\r\n\r\n${'{'.repeat(n)}`], then: 'end' as const })),
      fc.integer({ min: 17, max: 40 }).map((n) => ({
        chunks: [`POST ${message} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, ...Array.from({ length: n }, () => `10000\r\n${'x'.repeat(0x10000)}\r\n`), '0\r\n\r\n'], then: 'wait' as const,
      })),
      fc.constant({ chunks: [`POST ${message} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}`], then: 'wait' as const }),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => ({ chunks: [Buffer.concat([Buffer.from(`POST ${message} HTTP/1.1\r\nHost: x\r\n`), Buffer.from(b), Buffer.from('\r\n\r\n')])], then: 'wait' as const })),
    );
    await fc.assert(fc.asyncProperty(fc.array(raw, { minLength: 8, maxLength: 8 }), async (batch) => {
      await inBatches(batch, 8, async (c) => {
        generated++;
        const result = await rawExchange(target.host, target.port, c.chunks, { then: c.then, timeoutMs: 15_000, localAddress: rogue.host });
        // 400 from the parser or the gossip routes, 401 when garbage parses as headers without a signature
        expectRawRefused(result, [400, 401, 431], String(c.chunks[0]).slice(0, 60));
      });
    }), { ...FC_OPTIONS, numRuns: 10 });
    await expectUnchanged();
  });

  it('after all of it: a valid signed message is accepted (no prototype pollution), and the count is proven', async () => {
    const ping = JSON.stringify({ v: PROTOCOL_VERSION, from: rogue.identity.id, type: 'ping', seq: 3 });
    const ok = await client.send({ method: 'POST', path: message, body: ping, headers: { ...json, ...signed(rogue.identity, 'POST', message, ping) } });
    expect(ok.status, ok.text).toBe(204);
    const view = await client.send({ method: 'GET', path: '/cluster' });
    expect(view.text).not.toContain('polluted');
    expect(generated).toBeGreaterThanOrEqual(SHARE);
    console.log(`gossip fuzz: ${generated} generated hostile requests (${client.sent} over keep-alive in all, snapshots included)`);
  });
});
