/**
 * Origin-signed versions (issue 13) against a real cluster: the Point on real
 * Redis and PostgreSQL, three node processes, and rogue members that are
 * registered at the Point (they know the cluster secret) and send correctly
 * request-signed gossip. A rogue cannot make a version count that its origin
 * did not sign as it is: written in an honest node's name (signed with its
 * own key, with the honest node's key or its own in originKey), a genuine
 * version with its clock, timestamp or digest altered, or no signature at
 * all. Each time every node refuses it (never stored, never relayed, the
 * honest winner unchanged), counts it in cdn_versions_refused_total, and
 * reports the rogue to the Point, which bans it once its quorum of nodes has.
 * Honest writes still replicate, and verify on every node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { startCluster, waitMembership, putBlob, versionsOf, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/net.js';
import { rogue, type Rogue } from '../helpers/rogue.js';
import { joinTokenFor } from '../../src/bootstrap/caller.js';
import { PROTOCOL_VERSION } from '../../src/gossip/core/messages.js';
import { versionSigningBytes } from '../../src/consensus/version-bytes.js';
import { EMPTY_SHA256 } from '../../src/consensus/schema.js';
import { signRequest } from '../../src/gossip/shell/signing.js';
import { STAGE_VERSION_HEADER, stageSignedMaterial } from '../../src/gossip/shell/http-transport.js';
import type { Version } from '../../src/consensus/types.js';
import { checkVersionSignature, signVersion } from '../../src/identity/version-signature.js';

const SECRET = `secret-${randomUUID()}`;
let cluster: Cluster;
let db: pg.Client;
const opened: Rogue[] = [];
/** the honest key every forgery tries to overwrite, its version as node 0 signed it, and its body's etag */
let honest: { key: string; version: Version; etag: string };

const nodes = (): ClusterNode[] => cluster.nodes.slice(0, 3);
const node0 = (): ClusterNode => cluster.nodes[0] as ClusterNode;

beforeAll(async () => {
  cluster = await startCluster(3, { pointArgs: ['--cluster-secret', SECRET], nodeArgs: ['--cluster-secret', SECRET, '--replicas', 'all'] });
  await waitMembership(cluster.nodes);
  const url = cluster.point.args[cluster.point.args.indexOf('--database-url') + 1];
  db = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await db.connect();
  const key = randomUUID();
  const put = await putBlob(node0(), key, `the honest bytes of ${key}`);
  expect(put.status).toBe(201);
  const etag = String(put.json.etag).replace(/"/g, '');
  await replicated(key, etag);
  const reader = await member();
  const answer = await reader.get(node0(), `/gossip/keys/${key}`);
  const version = (answer.json as { versions: Version[] }).versions[0] as Version;
  honest = { key, version, etag };
}, 180_000);

afterAll(async () => {
  await db?.end();
  for (const r of opened) await r.close();
  await cluster?.close();
});

/** A rogue registered at the Point as a member, on its own loopback address (and port, when it serves one). */
async function member(r = rogue(), port?: number): Promise<Rogue> {
  opened.push(r);
  port ??= await freePort(r.host);
  const reg = await r.register(cluster.point.url, port, { joinToken: joinTokenFor(SECRET, r.identity.publicKey) });
  expect(reg.status, JSON.stringify(reg.json)).toBe(201);
  return r;
}

async function replicated(key: string, etag: string): Promise<void> {
  await waitFor(async () => {
    for (const node of nodes()) if (bare((await versionsOf(node, key)).json.winner?.etag) !== bare(etag)) return false;
    return true;
  }, { what: `${key} on every node`, timeoutMs: 60_000, intervalMs: 100 });
}

/** An etag without its quotes: the sha256 of the body. */
function bare(etag: string | undefined): string | undefined {
  return etag?.replace(/"/g, '');
}

async function refused(node: ClusterNode, reason: string): Promise<number> {
  const text = await (await request(`${node.url}/metrics`)).body.text();
  return Number(new RegExp(`^cdn_versions_refused_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

async function refusedEverywhere(reason: string): Promise<number[]> {
  return Promise.all(nodes().map((n) => refused(n, reason)));
}

/** Distinct nodes that reported `ip` to the Point (its PostgreSQL banlist), and whether it is banned. */
async function reports(ip: string): Promise<{ reporters: string[]; banned: boolean }> {
  const rows = await db.query<{ reporter_id: string; reason: string }>('SELECT reporter_id, reason FROM ban_reports WHERE ip = $1', [ip]);
  const ban = await db.query('SELECT 1 FROM banned WHERE ip = $1 AND expires_at > now()', [ip]);
  return { reporters: rows.rows.filter((r) => /origin signature/.test(r.reason)).map((r) => r.reporter_id).sort(), banned: (ban.rowCount ?? 0) > 0 };
}

function message(from: string, versions: unknown[]): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'versions', versions, held: [], hops: 0 });
}

/** A version of `key` in `origin`'s name whose clock dominates the honest one, not yet signed. */
function overwrite(origin: string, key = honest.key): Version {
  const sha256 = createHash('sha256').update('forged').digest('hex');
  return {
    key, clock: { ...honest.version.clock, [origin]: (honest.version.clock[origin] ?? 0) + 1000 }, timestamp: { wall: Date.now() + 1, logical: 0 },
    origin, sha256, size: 6, contentType: 'application/octet-stream', tombstone: false,
  };
}

/**
 * Sends `body` to every node at once; resolves with the nodes that took the
 * message in (`status`). Once two nodes have reported the rogue the Point
 * bans it, and a node that checks it after that refuses the request itself
 * (401/403): nothing of it gets in there either.
 */
async function sendToAll(r: Rogue, body: string, status: number): Promise<ClusterNode[]> {
  const answers = await Promise.all(nodes().map(async (node) => ({ node, answer: await r.send(node, body) })));
  for (const { node, answer } of answers) {
    if (answer.status !== status) expect([401, 403], `${node.url}: ${JSON.stringify(answer.json)}`).toContain(answer.status);
  }
  const took = answers.filter((a) => a.answer.status === status).map((a) => a.node);
  expect(took.length, 'at least two nodes took the message in (the ban quorum)').toBeGreaterThanOrEqual(2);
  return took;
}

/**
 * After a forgery: every node that took it in refused the version (counted)
 * and reported the rogue, the Point banned it, and on every node each key is
 * as it was: the honest winner unchanged and alone, forged keys never stored.
 */
async function refusedByAll(r: Rogue, took: ClusterNode[], reason: string, before: number[], keys: { key: string; etag?: string }[]): Promise<void> {
  const after = await refusedEverywhere(reason);
  for (const node of took) expect(after[node.index], `node ${node.index} counts the refusal (${reason})`).toBeGreaterThan(before[node.index] ?? 0);
  const expected = took.map((n) => n.id).sort();
  await waitFor(async () => {
    const rep = await reports(r.host);
    return rep.banned && expected.every((id) => rep.reporters.includes(id));
  }, { what: `the nodes to report ${r.host} and the Point to ban it`, timeoutMs: 30_000, intervalMs: 100 });
  expect((await reports(r.host)).reporters).toEqual(expected);
  for (const node of nodes()) {
    for (const { key, etag } of keys) {
      const v = await versionsOf(node, key);
      if (etag === undefined) expect(v.status, `${key} was never stored on ${node.url}`).toBe(404);
      else expect([v.status, bare(v.json.winner?.etag), v.json.siblings?.length]).toEqual([200, etag, 0]);
    }
  }
  // banned: whatever it sends next is refused before it is read
  const again = await r.send(node0(), message(r.identity.id, []));
  expect([401, 403]).toContain(again.status);
}

describe('honest writes', () => {
  it('replicate, and the version written on one node carries its origin signature and verifies on the others', async () => {
    expect(honest.version).toMatchObject({ key: honest.key, origin: node0().id, sha256: honest.etag });
    // nothing honest was refused anywhere (no false positives): no node counted a refusal yet
    for (const reason of ['unsigned', 'bad_signature', 'key_mismatch']) expect(await refusedEverywhere(reason)).toEqual([0, 0, 0]);
    expect(checkVersionSignature(honest.version)).toBeUndefined();
    const reader = await member();
    for (const node of nodes().slice(1)) {
      const v = ((await reader.get(node, `/gossip/keys/${honest.key}`)).json as { versions: Version[] }).versions;
      expect(v).toEqual([honest.version]);
      const text = await (await request(`${node.url}/metrics`)).body.text();
      expect(Number(/^cdn_version_signature_checks_total\{result="verified"\} (\d+)/m.exec(text)?.[1] ?? 0)).toBeGreaterThan(0);
    }
  });
});

describe('forged versions from a registered member', () => {
  it('(a) in an honest node\'s name with the honest key in originKey, signed by the rogue: refused everywhere, the rogue reported and banned', async () => {
    const r = await member();
    const fields = overwrite(node0().id);
    const forged = { ...fields, originKey: node0Key(), signature: r.identity.sign(versionSigningBytes(fields)) };
    const before = await refusedEverywhere('bad_signature');
    const took = await sendToAll(r, message(r.identity.id, [forged]), 204);
    await refusedByAll(r, took, 'bad_signature', before, [{ key: honest.key, etag: honest.etag }]);
  });

  it('(a) in an honest node\'s name with the rogue\'s own key in originKey: refused whole (400), counted as key_mismatch, the rogue reported and banned', async () => {
    const r = await member();
    const fields = overwrite(node0().id);
    const forged = { ...fields, originKey: r.identity.publicKey, signature: r.identity.sign(versionSigningBytes(fields)) };
    const before = await refusedEverywhere('key_mismatch');
    const took = await sendToAll(r, message(r.identity.id, [forged]), 400);
    await refusedByAll(r, took, 'key_mismatch', before, [{ key: honest.key, etag: honest.etag }]);
  });

  it('(b) a genuine version with its clock made dominating, or its timestamp moved: refused everywhere, the rogue reported and banned', async () => {
    const r = await member();
    const clock = { ...honest.version, clock: { ...honest.version.clock, [node0().id]: (honest.version.clock[node0().id] ?? 0) + 500 } };
    const future = { ...honest.version, timestamp: { wall: honest.version.timestamp.wall + 60_000, logical: 0 } };
    const before = await refusedEverywhere('bad_signature');
    const took = await sendToAll(r, message(r.identity.id, [clock, future]), 204);
    await refusedByAll(r, took, 'bad_signature', before, [{ key: honest.key, etag: honest.etag }]);
  });

  it('(c) a genuine version with its sha256 altered: refused everywhere, the rogue reported and banned', async () => {
    const r = await member();
    const altered = { ...honest.version, sha256: createHash('sha256').update('other bytes').digest('hex') };
    const before = await refusedEverywhere('bad_signature');
    const took = await sendToAll(r, message(r.identity.id, [altered]), 204);
    await refusedByAll(r, took, 'bad_signature', before, [{ key: honest.key, etag: honest.etag }]);
  });

  it('(d) without a signature, in an honest node\'s name or its own: dropped while the rest of the message applies; the rogue reported and banned', async () => {
    const r = await member();
    const unsignedHonest = overwrite(node0().id);
    const ownKey = randomUUID();
    const unsignedOwn = overwrite(r.identity.id, ownKey);
    // a version it signed itself, of a key of its own: that one is genuine and applies
    const genuineKey = randomUUID();
    const genuine = signVersion(r.identity, { ...overwrite(r.identity.id, genuineKey), clock: { [r.identity.id]: 1 } });
    const before = await refusedEverywhere('unsigned');
    const took = await sendToAll(r, message(r.identity.id, [unsignedHonest, unsignedOwn, genuine]), 204);
    await refusedByAll(r, took, 'unsigned', before, [{ key: honest.key, etag: honest.etag }, { key: ownKey }]);
    // the genuine version applied where the message was taken in (the rest of a message still applies)
    for (const node of took) expect(bare((await versionsOf(node, genuineKey)).json.winner?.etag)).toBe(genuine.sha256);
  });

  it('a forgery in the answer to a node\'s own lookup: refused, never stored, the peer that answered reported', async () => {
    const r = rogue();
    const port = await freePort(r.host);
    const key = randomUUID();
    const fields = { ...overwrite(node0().id, key), clock: { [node0().id]: 1 } };
    const forged = { ...fields, originKey: node0Key(), signature: r.identity.sign(versionSigningBytes(fields)) };
    // it answers every lookup with the forgery, and takes every message
    const server: Server = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.startsWith('/gossip/keys/') === true) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ versions: [forged], held: [] }));
      } else {
        res.statusCode = 204;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(port, r.host, resolve));
    try {
      await member(r, port);
      // a message makes it a member of node 0 (the Point vouched for it), so node 0's lookups ask it
      expect((await r.send(node0(), message(r.identity.id, []))).status).toBe(204);
      const before = await refused(node0(), 'bad_signature');
      await waitFor(async () => {
        // a GET of a key node 0 never heard of asks its peers; the rogue's answer is refused, so the key stays unknown
        const res = await request(`${node0().url}/blobs/${key}`);
        await res.body.dump();
        expect(res.statusCode).toBe(404);
        return await refused(node0(), 'bad_signature') > before;
      }, { what: 'node 0 to ask the rogue and refuse its answer', timeoutMs: 30_000, intervalMs: 200 });
      await waitFor(async () => (await reports(r.host)).reporters.includes(node0().id), { what: 'node 0 to report the rogue', timeoutMs: 30_000, intervalMs: 100 });
      for (const node of nodes()) expect((await versionsOf(node, key)).status).toBe(404);
    } finally {
      server.close();
    }
  });

  it('a staged write (write copies) whose version is unsigned or altered: 400 GOSSIP_ERR_BAD_MESSAGE and the sender reported; its genuine one is taken', async () => {
    const r = await member();
    const stage = async (version: object): Promise<{ status: number; code?: string }> => {
      const path = `/gossip/stage/${EMPTY_SHA256}`;
      const header = Buffer.from(JSON.stringify(version)).toString('base64url');
      const headers = { ...signRequest(r.identity, 'PUT', path, stageSignedMaterial(header, EMPTY_SHA256), Date.now(), randomUUID()), [STAGE_VERSION_HEADER]: header, 'content-length': '0' };
      const res = await request(`${node0().url}${path}`, { method: 'PUT', headers, body: '', dispatcher: r.agent });
      const text = await res.body.text();
      return { status: res.statusCode, ...(text === '' ? {} : { code: (JSON.parse(text) as { error: { code: string } }).error.code }) };
    };
    const tomb = {
      key: randomUUID(), clock: { [r.identity.id]: 1 }, timestamp: { wall: Date.now(), logical: 0 }, origin: r.identity.id,
      sha256: EMPTY_SHA256, size: 0, contentType: 'application/octet-stream', tombstone: true,
    };
    const genuine = signVersion(r.identity, tomb);
    expect(await stage(genuine)).toEqual({ status: 204 });
    const before = [await refused(node0(), 'unsigned'), await refused(node0(), 'bad_signature')];
    expect(await stage({ ...tomb, key: randomUUID() })).toEqual({ status: 400, code: 'GOSSIP_ERR_BAD_MESSAGE' });
    expect(await refused(node0(), 'unsigned')).toBe((before[0] ?? 0) + 1);
    await waitFor(async () => (await reports(r.host)).reporters.includes(node0().id), { what: 'node 0 to report the rogue', timeoutMs: 30_000, intervalMs: 100 });
    // reported: its vouch is forgotten, the Point is asked again; once banned everything it sends is refused
    const altered = await stage({ ...genuine, key: randomUUID() });
    expect([400, 401, 403]).toContain(altered.status);
    if (altered.status === 400) expect(await refused(node0(), 'bad_signature')).toBe((before[1] ?? 0) + 1);
  });

  it('a forgery sent to one node is not relayed: the others never hear of it while honest writes after it reach them', async () => {
    const r = await member();
    const key = randomUUID();
    const fields = overwrite(node0().id, key);
    const forged = { ...fields, clock: { [node0().id]: 1 }, originKey: node0Key(), signature: r.identity.sign(versionSigningBytes({ ...fields, clock: { [node0().id]: 1 } })) };
    expect((await r.send(node0(), message(r.identity.id, [forged]))).status).toBe(204);
    // a barrier: an honest write on node 0 after the forgery, replicated to every node
    const barrier = randomUUID();
    const put = await putBlob(node0(), barrier, 'after the forgery');
    expect(put.status).toBe(201);
    await replicated(barrier, String(put.json.etag));
    for (const node of nodes()) expect((await versionsOf(node, key)).status).toBe(404);
    await waitFor(async () => (await reports(r.host)).reporters.includes(node0().id), { what: 'node 0 to report the rogue', timeoutMs: 30_000, intervalMs: 100 });
  });
});

function node0Key(): string {
  return honest.version.originKey as string;
}
