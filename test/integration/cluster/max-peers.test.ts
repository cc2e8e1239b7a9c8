/**
 * A cap on peer links with real processes: seven nodes with --max-peers 3 on
 * a Point over real Redis and PostgreSQL. Each keeps at most 3 active peers
 * and keep-alive pools to no others, yet knows every member, and a write on
 * one is read on every one. Then Sybils: 50 registered identities on one
 * address, then 50 more on two others, each answering pings (so none is
 * declared dead) and all advertised to every node, against a node with
 * --max-peers 5: its view never holds more than the per-address cap of them,
 * its honest peers still make it in, and writes still reach every honest node.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { randomUUID } from 'node:crypto';
import { startCluster, waitMembership, putBlob, getBlob, type Cluster, type ClusterNode } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/net.js';
import { waitFor } from '../../helpers/wait.js';
import { rogue, type Rogue } from '../../helpers/rogue.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { PROTOCOL_VERSION } from '../../../src/gossip/core/messages.js';
import { addressCap, addressGroup } from '../../../src/gossip/core/active-view.js';

interface ActiveViewAnswer {
  id: string;
  peers: { id: string; address: string; state: string }[];
  activeView: { maxPeers: number; peers: string[]; keptPeers: number; connections: { kept: number; oneOff: number } };
}

let cluster: Cluster;
let nodes: ClusterNode[];
const sybils: Sybil[] = [];
let heartbeats: NodeJS.Timeout | undefined;

beforeAll(async () => {
  // the Point's own per-address limit on /reg is another defence; off here, so 100 Sybils get registered
  cluster = await startCluster(7, { nodeArgs: ['--max-peers', '3'], pointArgs: ['--rate-limit', '0'] });
  nodes = cluster.nodes;
  await waitMembership(nodes);
}, 180_000);

afterAll(async () => {
  // the Sybils first (their servers hold the nodes' keep-alive connections), then the cluster
  clearInterval(heartbeats);
  for (const s of sybils) {
    s.server.closeAllConnections();
    s.server.close();
    await s.rogue.close().catch(() => undefined);
  }
  await cluster?.close();
}, 60_000);

async function viewOf(node: Pick<ClusterNode, 'url'>): Promise<ActiveViewAnswer> {
  const res = await request(`${node.url}/cluster`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return (await res.body.json()) as ActiveViewAnswer;
}

describe('seven nodes with --max-peers 3', () => {
  it('each keeps 3 active peers and pools to no others, knows all 6, and a write on one is read on all', { timeout: 120_000 }, async () => {
    for (const n of nodes) {
      const v = await viewOf(n);
      expect(v.activeView.maxPeers).toBe(3);
      expect(v.peers.filter((p) => p.state === 'alive')).toHaveLength(6);
    }
    // the views fill (refills come within a probe interval of a change)
    await waitFor(async () => (await Promise.all(nodes.map(viewOf))).every((v) => v.activeView.peers.length === 3), { what: 'every view to hold 3 peers', timeoutMs: 20_000, intervalMs: 200 });

    const key = randomUUID();
    const body = `capped ${'z'.repeat(5000)}`;
    expect((await putBlob(nodes[0] as ClusterNode, key, body)).status).toBe(201);
    for (const n of nodes) {
      await waitFor(async () => {
        const r = await getBlob(n, key);
        return r.status === 200 && r.body.toString() === body;
      }, { what: `${n.url} to serve ${key}`, timeoutMs: 30_000, intervalMs: 200 });
    }
    // all along, and now: no view past 3, no keep-alive pool to a peer outside it
    for (const n of nodes) {
      const v = await viewOf(n);
      expect(v.activeView.peers.length, n.url).toBeLessThanOrEqual(3);
      expect(v.activeView.keptPeers, n.url).toBeLessThanOrEqual(3);
      expect(new Set(v.activeView.peers).size).toBe(v.activeView.peers.length);
      for (const id of v.activeView.peers) expect(nodes.map((x) => x.id)).toContain(id);
    }
    const metrics = await (await request(`${(nodes[1] as ClusterNode).url}/metrics`)).body.text();
    expect(metrics).toMatch(/^cdn_active_peers\{view="active"\} 3$/m);
    expect(metrics).toMatch(/^cdn_active_peers\{view="max"\} 3$/m);
    expect(metrics).toMatch(/^cdn_peer_connections\{kind="kept"\} \d+$/m);
  });
});

interface Sybil {
  rogue: Rogue;
  port: number;
  key: string;
  server: Server;
}

/**
 * A registered fake member at `host` that answers every ping with a signed
 * ack (so it stays alive) and nothing else.
 */
async function sybil(host: string, urlOf: (id: string) => string | undefined): Promise<Sybil> {
  const r = rogue(generateIdentity(), host);
  const port = await freePort(host);
  const reg = await r.register(cluster.point.url, port);
  expect(reg.status, JSON.stringify(reg.json)).toBe(201);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // gossip is taken; anything else (a body, a key) it does not have
      if (req.url !== '/gossip/message') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      try {
        const msg = JSON.parse(Buffer.concat(chunks).toString()) as { type?: string; seq?: number; from?: string };
        const to = msg.from === undefined ? undefined : urlOf(msg.from);
        if (msg.type === 'ping' && typeof msg.seq === 'number' && to !== undefined) {
          void r.send({ url: to }, JSON.stringify({ v: PROTOCOL_VERSION, from: r.identity.id, type: 'ack', seq: msg.seq })).catch(() => undefined);
        }
      } catch {
        // not gossip: ignored
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const s = { rogue: r, port, key: (reg.json as { key: string }).key, server };
  sybils.push(s);
  return s;
}

/** Tells every node of the Sybils, as one of them: alive claims in a members push. */
async function advertise(swarm: readonly Sybil[], to: readonly ClusterNode[]): Promise<void> {
  const [first] = swarm;
  if (first === undefined) return;
  const members = swarm.map((s) => ({ id: s.rogue.identity.id, address: `${s.rogue.host}:${s.port}`, publicKey: s.rogue.identity.publicKey, incarnation: 0, state: 'alive' }));
  for (const n of to) {
    const answer = await first.rogue.send(n, JSON.stringify({ v: PROTOCOL_VERSION, from: first.rogue.identity.id, type: 'members', members, reply: false }));
    expect(answer.status, JSON.stringify(answer.json)).toBeLessThan(300);
  }
}

/**
 * Samples `node`'s view until it has changed `changes` times (rotation and
 * refills), checking each sample: no address group past its cap, at most
 * `maxSybil` Sybils, at least `minHonest` honest peers.
 */
async function watchView(node: ClusterNode, sybilIds: ReadonlySet<string>, bound: { maxPeers: number; maxSybil: number; minHonest: number }, changes: number): Promise<{ samples: number; sybilSlots: number }> {
  let last = '';
  let changed = 0;
  let samples = 0;
  let sybilSlots = 0;
  await waitFor(async () => {
    const v = await viewOf(node);
    const address = new Map(v.peers.map((p) => [p.id, p.address]));
    const groups = new Set([...address.values()].map(addressGroup));
    const cap = addressCap(bound.maxPeers, groups.size);
    const perGroup = new Map<string, number>();
    for (const id of v.activeView.peers) {
      const g = addressGroup(address.get(id) ?? '');
      perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
    }
    for (const [g, n] of perGroup) expect(n, `${g} in ${node.url}'s view`).toBeLessThanOrEqual(cap);
    const inView = v.activeView.peers.filter((id) => sybilIds.has(id)).length;
    expect(v.activeView.peers.length).toBeLessThanOrEqual(bound.maxPeers);
    expect(inView, `Sybils in ${node.url}'s view`).toBeLessThanOrEqual(bound.maxSybil);
    expect(v.activeView.peers.length - inView, `honest peers in ${node.url}'s view`).toBeGreaterThanOrEqual(bound.minHonest);
    samples++;
    sybilSlots += inView;
    const now = [...v.activeView.peers].sort().join(',');
    if (now !== last) changed++;
    last = now;
    return changed > changes;
  }, { what: `${node.url}'s view to change ${changes} times`, timeoutMs: 60_000, intervalMs: 250 });
  return { samples, sybilSlots };
}

describe('Sybils against --max-peers 5', () => {
  it('50 on one address, then 50 more on two others, never hold more than the cap; honest peers make it in; writes replicate', { timeout: 240_000 }, async () => {
    const target = await cluster.addNode(7, ['--max-peers', '5']);
    const honest = [...nodes.slice(0, 7), target];
    await waitMembership(honest);
    const urlOf = (id: string) => honest.find((n) => n.id === id)?.url;
    const base = (nodes[0] as ClusterNode).host.split('.').slice(0, 3).join('.');

    // 50 identities on one address; they heartbeat so the Point keeps them registered
    // they heartbeat (as registered) so the Point keeps them, from the first one on
    heartbeats = setInterval(() => {
      for (const s of sybils) void s.rogue.point(cluster.point.url, 'POST', '/heartbeat', { key: s.key }).catch(() => undefined);
    }, 1_000);
    // one at a time: the Point lets an address hold only a few unused challenges
    const one: Sybil[] = [];
    for (let i = 0; i < 50; i++) one.push(await sybil(`${base}.250`, urlOf));
    await advertise(one, honest);
    const ids = new Set(one.map((s) => s.rogue.identity.id));
    await waitFor(async () => (await viewOf(target)).peers.filter((p) => ids.has(p.id) && p.state === 'alive').length === 50,
      { what: 'the target to know the 50 Sybils alive', timeoutMs: 30_000, intervalMs: 200 });
    // 7 honest addresses and 1 Sybil address: cap ceil(5/8) = 1, so at most 1 Sybil and at least 4 honest peers
    const first = await watchView(target, ids, { maxPeers: 5, maxSybil: 1, minHonest: 4 }, 3);
    expect(first.samples).toBeGreaterThan(3);

    // 50 more on two more addresses: 3 Sybil addresses of 10, cap 1: at most 3 Sybils, at least 2 honest peers
    const few: Sybil[] = [];
    for (let i = 0; i < 50; i++) few.push(await sybil(`${base}.${248 + (i % 2)}`, urlOf));
    await advertise(few, honest);
    for (const s of few) ids.add(s.rogue.identity.id);
    await waitFor(async () => (await viewOf(target)).peers.filter((p) => ids.has(p.id) && p.state === 'alive').length === 100,
      { what: 'the target to know the 100 Sybils alive', timeoutMs: 30_000, intervalMs: 200 });
    await watchView(target, ids, { maxPeers: 5, maxSybil: 3, minHonest: 2 }, 3);

    // the Sybils answer, so they are not dead: they were probed and are still alive
    const seen = await viewOf(target);
    expect(seen.peers.filter((p) => ids.has(p.id) && p.state === 'alive')).toHaveLength(100);

    // a write on the target still reaches every honest node
    const key = randomUUID();
    const body = `through the crowd ${randomUUID()}`;
    expect((await putBlob(target, key, body)).status).toBe(201);
    for (const n of honest) {
      await waitFor(async () => {
        const r = await getBlob(n, key);
        return r.status === 200 && r.body.toString() === body;
      }, { what: `${n.url} to serve ${key}`, timeoutMs: 30_000, intervalMs: 200 });
    }
  });
});
