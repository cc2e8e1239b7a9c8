/**
 * Hostile peers against a real cluster: unsigned, forged, replayed and
 * impersonating gossip is refused; a registered peer that serves corrupt
 * bodies is reported by the nodes it cheated and banned once a quorum agrees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'undici';
import { startCluster, waitMembership, nextHost, type Cluster, type ClusterNode } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort } from '../../helpers/net.js';
import { generateIdentity, type NodeIdentity } from '../../../src/identity/keystore.js';
import { signRequest } from '../../../src/gossip/signing.js';
import { PointClient } from '../../../src/bootstrap/client.js';
import { PROTOCOL_VERSION } from '../../../src/gossip/messages.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster(3);
  await waitMembership(cluster.nodes);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

/** A process-local stand-in for a peer: its own key, its own loopback address. */
interface Rogue {
  identity: NodeIdentity;
  host: string;
  agent: Agent;
  send(node: ClusterNode, body: string, headers?: Record<string, string>): Promise<{ status: number; code: string | undefined; headers: Record<string, string> }>;
}

function rogue(identity = generateIdentity(), host = nextHost()): Rogue {
  const agent = new Agent({ localAddress: host });
  return {
    identity, host, agent,
    async send(node, body, headers) {
      const signed = headers ?? signRequest(identity, 'POST', '/gossip/message', body, Date.now(), randomBytes(16).toString('base64url'));
      const res = await request(`${node.url}/gossip/message`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...signed }, dispatcher: agent });
      const text = await res.body.text();
      const code = text === '' ? undefined : (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      return { status: res.statusCode, code, headers: signed };
    },
  };
}

function ping(from: string): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'ping', seq: 1 });
}

describe('hostile peers', () => {
  it('refuses unsigned gossip', async () => {
    const node = cluster.nodes[0] as ClusterNode;
    const res = await request(`${node.url}/gossip/message`, { method: 'POST', body: ping('n0000000000000000'), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(401);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('GOSSIP_ERR_UNSIGNED');
  });

  it('refuses a sender the Point does not know, a forged signature, and an impersonated id', async () => {
    const node = cluster.nodes[0] as ClusterNode;
    const stranger = rogue();
    const unknown = await stranger.send(node, ping(stranger.identity.id));
    expect(unknown.status).toBe(401);
    expect(unknown.code).toBe('GOSSIP_ERR_UNKNOWN_PEER');

    // Signed by one key, claiming another registered node's id and key.
    const victim = cluster.nodes[1] as ClusterNode;
    const victimKey = ((await (await request(`${victim.url}/cluster`)).body.json()) as { publicKey: string }).publicKey;
    const body = ping(victim.id);
    const forged = { ...signRequest(stranger.identity, 'POST', '/gossip/message', body, Date.now(), randomBytes(16).toString('base64url')), 'x-gossip-node': victim.id, 'x-gossip-key': victimKey };
    const r1 = await stranger.send(node, body, forged);
    expect(r1.status).toBe(401);
    expect(r1.code).toBe('GOSSIP_ERR_BAD_SIGNATURE');

    // Claiming the victim's id with the stranger's own key: the id does not belong to the key.
    const impersonated = { ...signRequest(stranger.identity, 'POST', '/gossip/message', body, Date.now(), randomBytes(16).toString('base64url')), 'x-gossip-node': victim.id };
    const r2 = await stranger.send(node, body, impersonated);
    expect(r2.status).toBe(401);
    expect(r2.code).toBe('GOSSIP_ERR_BAD_SIGNATURE');

    // A stale timestamp.
    const stale = signRequest(stranger.identity, 'POST', '/gossip/message', body, Date.now() - 10 * 60_000, randomBytes(16).toString('base64url'));
    const r3 = await stranger.send(node, body, stale);
    expect(r3.status).toBe(401);
    expect(r3.code).toBe('GOSSIP_ERR_STALE');
    await stranger.agent.close();
  });

  it('refuses a replayed message from a registered peer, and malformed ones with 400', async () => {
    const peer = rogue();
    const port = await freePort(peer.host);
    const point = new PointClient({ url: cluster.point.url, localAddress: peer.host });
    await point.reg({ port, publicKey: peer.identity.publicKey, id: peer.identity.id });
    const node = cluster.nodes[0] as ClusterNode;
    const first = await peer.send(node, ping(peer.identity.id));
    expect(first.status).toBe(204);
    const again = await peer.send(node, ping(peer.identity.id), first.headers);
    expect(again.status).toBe(401);
    expect(again.code).toBe('GOSSIP_ERR_REPLAY');
    for (const bad of ['not json', '{"v":1}', JSON.stringify({ v: 99, from: peer.identity.id, type: 'ping', seq: 1 }), JSON.stringify({ v: 1, from: peer.identity.id, type: 'ping', seq: 1, __proto__: { x: 1 }, extra: 1 })]) {
      const r = await peer.send(node, bad);
      expect(r.status).toBe(400);
      expect(r.code).toBe('GOSSIP_ERR_BAD_MESSAGE');
    }
    // Claims to be another node in the body than the one that signed.
    const other = await peer.send(node, ping((cluster.nodes[1] as ClusterNode).id));
    expect(other.status).toBe(400);
    await point.close();
    await peer.agent.close();
  });

  it('a peer that serves corrupt bodies is reported and, after the quorum, banned', { timeout: 150_000 }, async () => {
    const bad = rogue();
    const port = await freePort(bad.host);
    const good = Buffer.from(`the real bytes ${randomUUID()}`);
    const sha = createHash('sha256').update(good).digest('hex');
    // It serves wrong bytes of the right length for every body asked of it.
    const server: Server = createServer((req, res) => {
      res.setHeader('content-length', good.length);
      res.end(Buffer.alloc(good.length, 0x41));
    });
    await new Promise<void>((resolve) => server.listen(port, bad.host, resolve));
    const point = new PointClient({ url: cluster.point.url, localAddress: bad.host });
    await point.reg({ port, publicKey: bad.identity.publicKey, id: bad.identity.id });
    try {
      const version = {
        key: randomUUID(), clock: { [bad.identity.id]: 1 }, timestamp: { wall: Date.now(), logical: 0 }, origin: bad.identity.id,
        sha256: sha, size: good.length, contentType: 'application/octet-stream', tombstone: false,
      };
      const message = JSON.stringify({ v: PROTOCOL_VERSION, from: bad.identity.id, type: 'versions', versions: [version], held: [sha], hops: 0 });
      for (const node of cluster.nodes.slice(0, 2)) expect((await bad.send(node, message)).status).toBe(204);
      // Two nodes fetch, find the bytes wrong, and report: the quorum (2) bans the address.
      await waitFor(async () => {
        const res = await request(`${cluster.point.url}/healthz`);
        await res.body.dump();
        const again = await bad.send(cluster.nodes[0] as ClusterNode, JSON.stringify({ v: PROTOCOL_VERSION, from: bad.identity.id, type: 'ping', seq: 9 }));
        return again.status === 401 || again.status === 403;
      }, { what: 'the cheating peer to be banned and refused', timeoutMs: 120_000, intervalMs: 250 });
      // The bad bytes were never kept: no node holds the body.
      for (const node of cluster.nodes) {
        const v = (await (await request(`${node.url}/blobs/${version.key}/versions`)).body.json()) as { winner?: { bodyHeld: boolean } };
        expect(v.winner?.bodyHeld ?? false).toBe(false);
      }
      // And it cannot come back: registering from the banned address is refused.
      await expect(point.reg({ port, publicKey: generateIdentity().publicKey })).rejects.toMatchObject({ code: 'POINT_ERR_BANNED' });
    } finally {
      server.close();
      await point.close();
      await bad.agent.close();
    }
  });
});
