/**
 * Rate limits (issue 13), against real processes over real sockets: a node
 * on its own loopback address, a cluster (Point on real Redis and
 * PostgreSQL, two nodes) and rogue clients and peers speaking from their own
 * 127.x.y.z source addresses. Small limits come from flags so floods are
 * short; every flood is bounded by a request count (it stops at the first
 * refusal it was waiting for), and nothing asserts on timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { clusterView, getBlob, nextHost, putBlob, startCluster, waitMembership, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { removeDir, startNode, type TestNode } from '../helpers/node.js';
import { stopAll } from '../helpers/process.js';
import { ping, rogue, type Rogue } from '../helpers/rogue.js';
import { waitFor } from '../helpers/wait.js';

interface Reply {
  status: number;
  retryAfter: string | undefined;
  code: string | undefined;
}

const agents = new Map<string, Agent>();
function from(address: string): Agent {
  let agent = agents.get(address);
  if (agent === undefined) {
    agent = new Agent({ localAddress: address, connections: 8, headersTimeout: 10_000, bodyTimeout: 10_000 });
    agents.set(address, agent);
  }
  return agent;
}

async function send(url: string, address: string, method: 'GET' | 'PUT' | 'POST' = 'GET', body?: string): Promise<Reply> {
  const res = await request(url, { method, dispatcher: from(address), ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/octet-stream' } }) });
  const text = await res.body.text();
  let code: string | undefined;
  try { code = (JSON.parse(text) as { error?: { code?: string } }).error?.code; } catch { code = undefined; }
  const retry = res.headers['retry-after'];
  return { status: res.statusCode, retryAfter: Array.isArray(retry) ? retry[0] : retry, code };
}

/** Sends `one()` `parallel` at a time until one answers `status`, at most `max` times; every answer. */
async function floodUntil(one: () => Promise<Reply>, status: number, max: number, parallel = 16): Promise<Reply[]> {
  const answers: Reply[] = [];
  let seen = false;
  const worker = async (): Promise<void> => {
    while (!seen && answers.length < max) {
      const reply = await one();
      answers.push(reply);
      if (reply.status === status) seen = true;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return answers;
}

function expectLimited(reply: Reply | undefined, code: string): void {
  expect(reply, 'the flood was never refused').toBeDefined();
  expect(reply!.code).toBe(code);
  expect(reply!.retryAfter).toMatch(/^[1-9]\d*$/);
}

/** One value of a Prometheus metric (the sample whose labels contain `labels`). */
async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await request(`${url}/metrics`, { dispatcher: from('127.0.0.1') })).body.text();
  const line = text.split('\n').find((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{') && l.includes(labels));
  if (line === undefined) throw new Error(`no ${name}${labels} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** One HTTP/1.1 request on a fresh connection from `localAddress`; resolves with the status (0: no answer). */
function rawGet(host: string, port: number, localAddress: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress });
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0));
    });
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
  });
}

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.close()));
  await stopAll();
});

describe('the public API, per client address', () => {
  let node: TestNode;
  const key = randomUUID();
  beforeAll(async () => {
    node = await startNode({ host: nextHost(), args: ['--rate-limit', '5', '--rate-burst', '20', '--rate-limit-table', '500'] });
    expect((await send(`${node.url}/blobs/${key}`, '127.0.0.1', 'PUT', 'hello')).status).toBe(201);
  });
  afterAll(async () => {
    await node.proc.stop();
    await removeDir(node.dataDir);
  });

  it('a flood from one address gets 429 with Retry-After on the fast path and through express, while another address is served', async () => {
    const flooder = nextHost();
    const other = nextHost();
    const [fastPath, served] = await Promise.all([
      floodUntil(() => send(`${node.url}/blobs/${key}`, flooder), 429, 2000),
      // the other client, during the flood: every read served, and the ops endpoints too
      (async () => {
        const replies: Reply[] = [];
        for (let i = 0; i < 5; i++) replies.push(await send(`${node.url}/blobs/${key}`, other), await send(`${node.url}/cluster`, other));
        return replies;
      })(),
    ]);
    expectLimited(fastPath.find((r) => r.status === 429), 'CDN_ERR_RATE_LIMITED');
    expect(fastPath.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(20); // the burst was served first
    expect(served.map((r) => r.status)).toEqual(Array(10).fill(200));
    // the same address stays refused on the express routes (writes, listing, ops), before any body is read
    const put = await floodUntil(() => send(`${node.url}/blobs/${randomUUID()}`, flooder, 'PUT', 'x'.repeat(1000)), 429, 2000, 4);
    expectLimited(put.find((r) => r.status === 429), 'CDN_ERR_RATE_LIMITED');
    const metrics = await floodUntil(() => send(`${node.url}/metrics`, flooder), 429, 2000, 4);
    expectLimited(metrics.find((r) => r.status === 429), 'CDN_ERR_RATE_LIMITED');
    // what was refused is counted, by plane only
    expect(await metric(node.url, 'cdn_rate_limited_total', 'plane="public"')).toBeGreaterThanOrEqual(3);
    // a refused PUT stored nothing: the keys are the first one and the PUTs that were let through
    const list = await request(`${node.url}/blobs?limit=1000`, { dispatcher: from(other) });
    expect(((await list.body.json()) as { items: unknown[] }).items).toHaveLength(1 + put.filter((r) => r.status === 201).length);
  });

  it('a flood from thousands of distinct addresses keeps the limiter at its cap and the memory bounded, and others are served', async () => {
    const rssBefore = await metric(node.url, 'process_resident_memory_bytes');
    const host = node.host;
    const addresses = Array.from({ length: 3000 }, (_, i) => `127.${20 + Math.floor(i / 250)}.${i % 250}.${1 + (Math.floor(i / 250) % 200)}`);
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < addresses.length) {
        const address = addresses[next++] as string;
        statuses.push(await rawGet(host, node.port, address, `/blobs/${key}`));
      }
    }));
    // each new address is a full bucket: all of them were served
    expect(statuses.filter((s) => s === 200).length).toBe(addresses.length);
    expect(await metric(node.url, 'cdn_rate_limiter_entries', 'plane="public"')).toBe(500);
    const rssAfter = await metric(node.url, 'process_resident_memory_bytes');
    expect(rssAfter - rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect((await send(`${node.url}/blobs/${key}`, nextHost())).status).toBe(200);
  });
});

describe('gossip and the Point, per peer and per address', () => {
  let cluster: Cluster;
  const opened: Rogue[] = [];
  beforeAll(async () => {
    cluster = await startCluster(2, {
      // local-test gossip between two nodes is a few dozen requests/s per peer: 100/s leaves it room, and a flood soon runs dry
      nodeArgs: ['--gossip-rate-limit', '100', '--gossip-rate-burst', '300'],
      pointArgs: ['--rate-limit', '5', '--rate-burst', '10'],
    });
    await waitMembership(cluster.nodes);
  });
  afterAll(async () => {
    for (const r of opened) await r.close();
    await cluster?.close();
  });

  const newRogue = (): Rogue => {
    const r = rogue();
    opened.push(r);
    return r;
  };

  it('a registered peer flooding /gossip gets 429 while honest peers\' gossip still replicates a write', async () => {
    const flooder = newRogue();
    expect((await flooder.register(cluster.point.url, 7000)).status).toBe(201);
    const target = cluster.nodes[0] as ClusterNode;
    const flood = await floodUntil(async () => {
      const answer = await flooder.send(target, ping(flooder.identity.id));
      return { status: answer.status, code: answer.code, retryAfter: undefined };
    }, 429, 5000, 32);
    // the rogue's own answers: admitted (204) until its bucket ran dry
    expect(flood.filter((r) => r.status === 204).length).toBeGreaterThan(0);
    const refused = flood.find((r) => r.status === 429);
    expect(refused?.code).toBe('GOSSIP_ERR_RATE_LIMITED');
    // honest gossip goes on: a write on the other node reaches the flooded one
    const key = randomUUID();
    expect((await putBlob(cluster.nodes[1] as ClusterNode, key, 'replicate me')).status).toBe(201);
    await waitFor(async () => (await getBlob(target, key)).status === 200, { what: 'the write to replicate to the flooded node', timeoutMs: 30_000 });
    expect((await clusterView(target)).peers.find((p) => p.id === cluster.nodes[1]?.id)?.state).toBe('alive');
    expect(await metric(target.url, 'cdn_rate_limited_total', 'plane="gossip"')).toBeGreaterThan(0);
  });

  it('an unsigned flood to /gossip is refused per address before any signature is checked', async () => {
    // a third node with a small gossip limit (twice it per address before the signature check: 20/s, burst 40)
    const target = await cluster.addNode(2, ['--gossip-rate-limit', '10', '--gossip-rate-burst', '20']);
    const address = nextHost();
    const flood = await floodUntil(() => send(`${target.url}/gossip/message`, address, 'POST', '{}'), 429, 5000, 32);
    expect(flood[0]?.code).toBe('GOSSIP_ERR_UNSIGNED');
    expect(flood.filter((r) => r.code === 'GOSSIP_ERR_UNSIGNED').length).toBeGreaterThanOrEqual(40); // the burst was looked at
    expectLimited(flood.find((r) => r.status === 429), 'GOSSIP_ERR_RATE_LIMITED');
    // the node still answers everyone else
    expect((await clusterView(target)).id).toBe(target.id);
    expect((await clusterView(cluster.nodes[1] as ClusterNode)).peers.find((p) => p.id === cluster.nodes[0]?.id)?.state).toBe('alive');
  });

  it('the Point limits a /reg flood from one address; another address still registers', async () => {
    const sybil = newRogue();
    const flood = await floodUntil(async () => {
      const answer = await sybil.point(cluster.point.url, 'POST', '/reg/challenge', { publicKey: randomBytes(32).toString('base64url') });
      return { status: answer.status, code: answer.code, retryAfter: undefined };
    }, 429, 500, 4);
    expect(flood.find((r) => r.status === 429)?.code).toBe('POINT_ERR_RATE_LIMITED');
    // /reg itself is refused from that address too, before its body is read
    const reg = await request(`${cluster.point.url}/reg`, { method: 'POST', dispatcher: sybil.agent, headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(reg.statusCode).toBe(429);
    expect(String(reg.headers['retry-after'])).toMatch(/^[1-9]\d*$/);
    expect(((await reg.body.json()) as { error: { code: string } }).error.code).toBe('POINT_ERR_RATE_LIMITED');
    expect((await newRogue().register(cluster.point.url, 7001)).status).toBe(201);
    const metrics = await (await request(`${cluster.point.url}/metrics`)).body.text();
    expect(metrics).toMatch(/^point_rate_limited_total\{reason="rate"\} [1-9]/m);
  });
});
