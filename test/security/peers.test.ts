/**
 * Hostile peers against a real cluster (the Point on real Redis and
 * PostgreSQL, three node processes) that requires a cluster secret:
 * unsigned, forged and replayed gossip; impersonating another node's id; one
 * rogue trying to ban others; a banned address trying to come back; joining
 * without the secret; and a peer serving corrupt bodies, banned once a quorum
 * of the nodes it cheated report it. What each proves is in
 * proposals/0007-security-model.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { startCluster, waitMembership, clusterView, versionsOf, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/net.js';
import { rogue, ping, type Rogue } from '../helpers/rogue.js';
import { generateIdentity } from '../../src/identity/keystore.js';
import { signRequest } from '../../src/gossip/shell/signing.js';
import { signVersion } from '../../src/identity/version-signature.js';
import { joinTokenFor } from '../../src/bootstrap/caller.js';
import { PROTOCOL_VERSION } from '../../src/gossip/core/messages.js';

const SECRET = `secret-${randomUUID()}`;
let cluster: Cluster;
const opened: Rogue[] = [];

beforeAll(async () => {
  // --replicas all: the ban test needs both cheated nodes to fetch the body, which
  // under placement only its owners do.
  cluster = await startCluster(3, { pointArgs: ['--cluster-secret', SECRET], nodeArgs: ['--cluster-secret', SECRET, '--replicas', 'all'] });
  await waitMembership(cluster.nodes);
}, 120_000);

afterAll(async () => {
  for (const r of opened) await r.close();
  await cluster?.close();
});

function newRogue(): Rogue {
  const r = rogue();
  opened.push(r);
  return r;
}

/** Registers a rogue with the Point, as a member of the cluster would (it knows the secret). */
async function register(r: Rogue, port = 7000): Promise<string> {
  const reg = await r.register(cluster.point.url, port, { joinToken: joinTokenFor(SECRET, r.identity.publicKey) });
  expect(reg.status, JSON.stringify(reg.json)).toBe(201);
  return (reg.json as { key: string }).key;
}

/** A `versions` gossip message carrying one new version of a fresh key, as if `origin` had written it. */
function versionsMessage(from: string, origin = from): { key: string; body: string } {
  const key = randomUUID();
  const sha = createHash('sha256').update(key).digest('hex');
  const version = {
    key, clock: { [origin]: 1 }, timestamp: { wall: Date.now(), logical: 0 }, origin,
    sha256: sha, size: key.length, contentType: 'application/octet-stream', tombstone: false,
  };
  return { key, body: JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'versions', versions: [version], held: [], hops: 0 }) };
}

const nonce = (): string => randomBytes(16).toString('base64url');

/** Reports that reached the quorum at the Point so far (point_bans_total). */
async function pointBans(): Promise<number> {
  const text = await (await request(`${cluster.point.url}/metrics`)).body.text();
  return Number(/^point_bans_total (\d+)/m.exec(text)?.[1] ?? 0);
}
const node0 = (): ClusterNode => cluster.nodes[0] as ClusterNode;

describe('gossip authenticity', () => {
  it('unsigned, forged and replayed gossip is refused with 401 and its JSON code, and changes nothing', async () => {
    const node = node0();
    // Unsigned.
    const unsigned = versionsMessage('n0000000000000000');
    const res = await request(`${node.url}/gossip/message`, { method: 'POST', body: unsigned.body, headers: { 'content-type': 'application/json' } });
    expect([res.statusCode, ((await res.body.json()) as { error: { code: string } }).error.code]).toEqual([401, 'GOSSIP_ERR_UNSIGNED']);
    expect((await versionsOf(node, unsigned.key)).status).toBe(404);

    // Forged: a signature that does not verify, a stale timestamp, a sender the Point does not know.
    const stranger = newRogue();
    const forged = versionsMessage(stranger.identity.id);
    const badSig = { ...signRequest(stranger.identity, 'POST', '/gossip/message', forged.body, Date.now(), nonce()), 'x-gossip-signature': randomBytes(64).toString('base64url') };
    expect(await stranger.send(node, forged.body, badSig)).toMatchObject({ status: 401, code: 'GOSSIP_ERR_BAD_SIGNATURE' });
    const stale = signRequest(stranger.identity, 'POST', '/gossip/message', forged.body, Date.now() - 10 * 60_000, nonce());
    expect(await stranger.send(node, forged.body, stale)).toMatchObject({ status: 401, code: 'GOSSIP_ERR_STALE' });
    expect(await stranger.send(node, forged.body)).toMatchObject({ status: 401, code: 'GOSSIP_ERR_UNKNOWN_PEER' });
    expect((await versionsOf(node, forged.key)).status).toBe(404);

    // Replayed: a registered peer's request, captured and sent again (as is, and with another body).
    const peer = newRogue();
    await register(peer, await freePort(peer.host));
    const first = await peer.send(node, ping(peer.identity.id));
    expect(first.status).toBe(204);
    expect(await peer.send(node, ping(peer.identity.id), first.headers)).toMatchObject({ status: 401, code: 'GOSSIP_ERR_REPLAY' });
    const swapped = versionsMessage(peer.identity.id);
    expect(await peer.send(node, swapped.body, first.headers)).toMatchObject({ status: 401, code: 'GOSSIP_ERR_BAD_SIGNATURE' });
    expect((await versionsOf(node, swapped.key)).status).toBe(404);

    // Malformed messages from a registered peer are 400 GOSSIP_ERR_BAD_MESSAGE.
    for (const bad of ['not json', '{"v":1}', JSON.stringify({ v: 99, from: peer.identity.id, type: 'ping', seq: 1 }), JSON.stringify({ v: PROTOCOL_VERSION, from: peer.identity.id, type: 'ping', seq: 1, extra: 1 })]) {
      expect(await peer.send(node, bad)).toMatchObject({ status: 400, code: 'GOSSIP_ERR_BAD_MESSAGE' });
    }
  });

  it('a node impersonating another id: refused with its own key, with the victim\'s key, in the message, and at the Point from another address', async () => {
    const node = node0();
    const victim = cluster.nodes[1] as ClusterNode;
    const victimKey = ((await (await request(`${victim.url}/cluster`)).body.json()) as { publicKey: string }).publicKey;
    const impostor = newRogue();
    const port = await freePort(impostor.host);
    await register(impostor, port);
    const claim = versionsMessage(victim.id);
    // Claims the victim's id, signs with its own key: the id does not belong to the key.
    const ownKey = { ...signRequest(impostor.identity, 'POST', '/gossip/message', claim.body, Date.now(), nonce()), 'x-gossip-node': victim.id };
    expect(await impostor.send(node, claim.body, ownKey)).toMatchObject({ status: 401, code: 'GOSSIP_ERR_BAD_SIGNATURE' });
    // Claims the victim's id and key, signs with its own key: the signature does not verify.
    const victimsKey = { ...ownKey, 'x-gossip-key': victimKey };
    expect(await impostor.send(node, claim.body, victimsKey)).toMatchObject({ status: 401, code: 'GOSSIP_ERR_BAD_SIGNATURE' });
    // Signs as itself (admitted) but says in the message that it is the victim.
    expect(await impostor.send(node, claim.body)).toMatchObject({ status: 400, code: 'GOSSIP_ERR_BAD_MESSAGE' });
    expect((await versionsOf(node, claim.key)).status).toBe(404);
    // Registers the victim's public key from its own address, with a valid join token: it cannot prove it holds the key.
    const unproven = await impostor.point(cluster.point.url, 'POST', '/reg', { port, publicKey: victimKey, joinToken: joinTokenFor(SECRET, victimKey) });
    expect([unproven.status, unproven.code]).toEqual([401, 'POINT_ERR_PROOF_REQUIRED']);
    const taken = await impostor.register(cluster.point.url, port, { publicKey: victimKey, joinToken: joinTokenFor(SECRET, victimKey) });
    expect([taken.status, taken.code]).toEqual([401, 'POINT_ERR_BAD_PROOF']);
    // The victim is untouched: still registered from its own address and alive to its peers.
    const check = await impostor.point(cluster.point.url, 'GET', `/check?key=${await register(newRogue())}&target=${victim.id}`);
    expect([check.status, (check.json as { ip: string }).ip]).toEqual([200, victim.host]);
    expect((await clusterView(node)).peers.find((p) => p.id === victim.id)?.state).toBe('alive');
  });
});

describe('admission and bans', () => {
  it('one rogue node reporting others again and again bans nobody, and cannot report as someone else', async () => {
    const rogueNode = newRogue();
    const key = await register(rogueNode);
    const target = cluster.nodes[2] as ClusterNode;
    for (let i = 0; i < 5; i++) {
      const r = await rogueNode.point(cluster.point.url, 'POST', '/ban', { key, ip: target.host, reason: `attempt ${i}` });
      expect([r.status, r.json]).toEqual([200, { ip: target.host, reports: 1, quorum: 2, banned: false }]);
    }
    // A second identity from the same machine is the same reporter.
    const sybil = rogue(generateIdentity(), rogueNode.host);
    opened.push(sybil);
    const sybilKey = await register(sybil, 7001);
    expect((await sybil.point(cluster.point.url, 'POST', '/ban', { key: sybilKey, ip: target.host, reason: 'me too' })).json).toMatchObject({ reports: 1, banned: false });
    // It cannot speak for another node: no session key of anyone else is ever handed out,
    const look = await rogueNode.point(cluster.point.url, 'GET', `/look?key=${key}&numnodes=50`);
    expect(look.status).toBe(200);
    for (const n of look.json as Record<string, unknown>[]) expect(Object.keys(n).sort()).toEqual(['id', 'ip', 'port', 'publicKey']);
    // a made-up key is 401, and naming a reporter in the body is refused by the schema.
    expect((await rogueNode.point(cluster.point.url, 'POST', '/ban', { key: randomBytes(32).toString('base64url'), ip: target.host, reason: 'x' })).status).toBe(401);
    for (const extra of [{ reporterIp: '127.0.0.250' }, { reporterId: cluster.nodes[1]?.id }, { from: cluster.nodes[1]?.id }]) {
      const r = await rogueNode.point(cluster.point.url, 'POST', '/ban', { key, ip: target.host, reason: 'x', ...extra });
      expect([r.status, r.code]).toEqual([400, 'POINT_ERR_BAD_REQUEST']);
    }
    // The target stays registered and a member.
    expect((await rogueNode.point(cluster.point.url, 'GET', `/check?key=${key}&target=${target.id}`)).status).toBe(200);
    expect((await clusterView(node0())).peers.find((p) => p.id === target.id)?.state).toBe('alive');
  });

  it('a banned address cannot register again (old or new key), loses its session, and its gossip is refused', async () => {
    const banned = newRogue();
    const port = await freePort(banned.host);
    const key = await register(banned, port);
    const reporters = [newRogue(), newRogue()];
    for (const [i, r] of reporters.entries()) {
      const answer = await r.point(cluster.point.url, 'POST', '/ban', { key: await register(r), ip: banned.host, reason: 'sent bad bodies' });
      expect(answer.json).toMatchObject({ reports: i + 1, banned: i === 1 });
    }
    const again = await banned.register(cluster.point.url, port, { joinToken: joinTokenFor(SECRET, banned.identity.publicKey) });
    expect([again.status, again.code]).toEqual([403, 'POINT_ERR_BANNED']);
    const fresh = generateIdentity();
    const freshReg = await banned.register(cluster.point.url, port, { joinToken: joinTokenFor(SECRET, fresh.publicKey) }, fresh);
    expect([freshReg.status, freshReg.code]).toEqual([403, 'POINT_ERR_BANNED']);
    expect((await banned.point(cluster.point.url, 'GET', `/look?key=${key}&numnodes=5`)).status).toBe(401);
    expect((await banned.point(cluster.point.url, 'POST', '/heartbeat', { key })).status).toBe(401);
    // Nodes ask the Point about a sender they have not vouched for: it is refused.
    for (const node of cluster.nodes) {
      const r = await banned.send(node, ping(banned.identity.id));
      expect([401, 403], JSON.stringify(r.json)).toContain(r.status);
      expect(['GOSSIP_ERR_UNKNOWN_PEER', 'GOSSIP_ERR_BANNED_PEER']).toContain(r.code);
    }
  });

  it('joining without the cluster secret is refused: no token, a wrong one, another key\'s; and a node with the wrong secret never joins', async () => {
    const outsider = newRogue();
    const publicKey = outsider.identity.publicKey;
    const other = generateIdentity().publicKey;
    for (const body of [{ port: 7000, publicKey }, { port: 7000, publicKey, joinToken: 'guess' }, { port: 7000, publicKey, joinToken: joinTokenFor('wrong', publicKey) }, { port: 7000, publicKey, joinToken: joinTokenFor(SECRET, other) }]) {
      const r = await outsider.point(cluster.point.url, 'POST', '/reg', body);
      expect([r.status, r.code]).toEqual([401, 'POINT_ERR_BAD_JOIN_TOKEN']);
    }
    // A real node process started with the wrong secret: the Point refuses it, so it is not ready and no node admits it.
    const intruder = await cluster.addNode(3, ['--cluster-secret', 'not-the-secret']);
    try {
      await waitFor(async () => {
        const res = await request(`${intruder.url}/readyz`);
        const text = await res.body.text();
        return res.statusCode === 503 && /join token/i.test(text);
      }, { what: 'the intruder to report that the Point refused its join token', timeoutMs: 30_000, intervalMs: 200 });
      for (const node of cluster.nodes.slice(0, 3)) expect((await clusterView(node)).peers.map((p) => p.id)).not.toContain(intruder.id);
    } finally {
      await intruder.proc.stop();
      cluster.nodes.splice(3, 1);
    }
  });

  it('a peer that serves corrupt bodies is reported by the nodes it cheated and, after the quorum, banned', { timeout: 150_000 }, async () => {
    const bad = newRogue();
    const port = await freePort(bad.host);
    const good = Buffer.from(`the real bytes ${randomUUID()}`);
    const sha = createHash('sha256').update(good).digest('hex');
    // It serves wrong bytes of the right length for every body asked of it.
    const server: Server = createServer((_req, res) => {
      res.setHeader('content-length', good.length);
      res.end(Buffer.alloc(good.length, 0x41));
    });
    await new Promise<void>((resolve) => server.listen(port, bad.host, resolve));
    await register(bad, port);
    try {
      // signed by its own key: a well-formed version of its own, so only the bytes it serves are wrong
      const version = signVersion(bad.identity, {
        key: randomUUID(), clock: { [bad.identity.id]: 1 }, timestamp: { wall: Date.now(), logical: 0 }, origin: bad.identity.id,
        sha256: sha, size: good.length, contentType: 'application/octet-stream', tombstone: false,
      });
      const message = JSON.stringify({ v: PROTOCOL_VERSION, from: bad.identity.id, type: 'versions', versions: [version], held: [sha], hops: 0 });
      const bansBefore = await pointBans();
      for (const node of cluster.nodes.slice(0, 2)) expect((await bad.send(node, message)).status).toBe(204);
      // Two nodes fetch, find the bytes wrong, and report: the quorum (2) bans the address.
      await waitFor(async () => await pointBans() > bansBefore, { what: 'the Point to ban the cheating peer', timeoutMs: 120_000, intervalMs: 100 });
      // A node forgets its vouch for a peer it reports, so the next message from it is checked
      // again, and refused. (Pinging before the ban would have node 0 vouch for it again, for
      // the minute its vouches last: that made this test take 2 s or 60 s, by the order of the reports.)
      await waitFor(async () => {
        const again = await bad.send(node0(), ping(bad.identity.id, 9));
        return again.status === 401 || again.status === 403;
      }, { what: 'the banned peer to be refused', timeoutMs: 120_000, intervalMs: 250 });
      // The bad bytes were never kept: no node holds the body.
      for (const node of cluster.nodes) {
        const v = await versionsOf(node, version.key);
        expect(v.json.winner?.bodyHeld ?? false).toBe(false);
      }
      const back = await bad.point(cluster.point.url, 'POST', '/reg', { port, publicKey: generateIdentity().publicKey, joinToken: 'x' });
      expect([401, 403]).toContain(back.status);
      const backWithToken = generateIdentity();
      expect((await bad.register(cluster.point.url, port, { joinToken: joinTokenFor(SECRET, backWithToken.publicKey) }, backWithToken)).code).toBe('POINT_ERR_BANNED');
    } finally {
      server.close();
    }
  });
});
