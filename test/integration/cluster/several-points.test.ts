/**
 * Several Points, for real: two `gossip-cdn bootstrap` processes A and B on
 * one Redis and one PostgreSQL (each naming the other with --peer-points),
 * and node processes started with `--bootstrap A,B`, with `A` only, with
 * `B` only, and with `DEAD,B` (DEAD a closed port). The Points share one
 * registry and one banlist; when A is killed the nodes move to B and
 * register there without restarting, and the cluster keeps replicating.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { getBlob, nextHost, putBlob, versionsOf, waitMembership, type ClusterNode } from '../../helpers/cluster.js';
import { pointViewOf, startPointsCluster, type PointsCluster } from '../../helpers/points.js';
import { freePort } from '../../helpers/net.js';
import { waitFor } from '../../helpers/wait.js';
import { call, closeAgents, q, registerNode } from '../point/harness.js';

let cluster: PointsCluster;
let A: string;
let B: string;
/** n[0], n[1]: --bootstrap A,B; n[2]: --bootstrap A (learns B from A's /points) */
const n: ClusterNode[] = [];

beforeAll(async () => {
  cluster = await startPointsCluster(2, { nodeArgs: ['--replicas', 'all'] });
  [A, B] = cluster.points.map((p) => p.url) as [string, string];
  n.push(await cluster.addNode(`${A},${B}`), await cluster.addNode(`${A},${B}`), await cluster.addNode(A));
  await waitMembership(n);
}, 180_000);

afterAll(async () => {
  await closeAgents();
  await cluster?.close();
});

const sha = (b: string): string => createHash('sha256').update(b).digest('hex');

async function registrationsAt(url: string): Promise<number> {
  const text = await (await request(`${url}/metrics`)).body.text();
  const m = /^point_registrations_total (\d+)/m.exec(text);
  if (m === null) throw new Error(`no point_registrations_total in ${url}/metrics`);
  return Number(m[1]);
}

/** The ids B hands out to a fresh caller registered at B. */
async function lookAt(url: string): Promise<string[]> {
  const me = await registerNode(url, nextHost());
  const answer = await call(url, 'GET', `/look${q({ key: me.key, numnodes: 50 })}`, { from: me.ip });
  expect(answer.status).toBe(200);
  return (answer.json as { id: string }[]).map((x) => x.id);
}

async function waitHeld(node: ClusterNode, key: string, etag: string): Promise<void> {
  await waitFor(async () => {
    const v = await versionsOf(node, key);
    return v.status === 200 && v.json.winner?.etag === etag && v.json.winner.bodyHeld;
  }, { what: `${node.url} to hold ${key}`, timeoutMs: 60_000, intervalMs: 100 });
}

describe('two Points on one Redis and one PostgreSQL', () => {
  it('each node registers with the first Point of its list, and a node that knew only A learns B from A', async () => {
    for (const node of n) {
      await waitFor(async () => (await pointViewOf(node)).state === 'registered', { what: `${node.url} to register`, timeoutMs: 30_000, intervalMs: 100 });
      expect((await pointViewOf(node)).url).toBe(A);
    }
    expect((await pointViewOf(n[0]!)).known).toEqual([A, B]);
    await waitFor(async () => (await pointViewOf(n[2]!)).known.includes(B), { what: 'the node started with A only to learn B from /points', timeoutMs: 30_000, intervalMs: 100 });
    expect((await pointViewOf(n[2]!)).known).toEqual([A, B]);
    expect(await registrationsAt(B)).toBe(0);
    expect(await (await request(`${n[0]!.url}/metrics`)).body.text()).toContain(`cdn_point_known{point="${A}"} 1`);
  });

  it('share one registry: a node registered at A is handed out by B\'s /look and vouched for by B\'s /check', async () => {
    const ids = await lookAt(B);
    for (const node of n) expect(ids).toContain(node.id);
    const asker = await registerNode(B, nextHost());
    const check = await call(B, 'GET', `/check${q({ key: asker.key, target: n[0]!.id })}`, { from: asker.ip });
    expect(check.status).toBe(200);
    expect(check.json).toMatchObject({ id: n[0]!.id, ip: n[0]!.host, port: n[0]!.port });
    // and a registration made at B is handed out by A
    expect(await lookAt(A)).toContain(asker.id);
  });

  it('share one banlist: an address banned by a quorum of reports at A cannot register at B', async () => {
    const victim = await registerNode(A, nextHost());
    const reporters = [await registerNode(A, nextHost()), await registerNode(A, nextHost())];
    let last: unknown;
    for (const r of reporters) {
      const answer = await call(A, 'POST', '/ban', { from: r.ip, body: { key: r.key, ip: victim.ip, reason: 'sent a body whose sha256 does not match' } });
      expect(answer.status).toBe(200);
      last = answer.json;
    }
    expect(last).toMatchObject({ ip: victim.ip, banned: true });
    const again = await registerNode(B, victim.ip).then(() => 'registered', (err: Error) => err.message);
    expect(again).toMatch(/answered 403: .*POINT_ERR_BANNED/);
    const asker = await registerNode(B, nextHost());
    expect((await call(B, 'GET', `/check${q({ key: asker.key, target: victim.id })}`, { from: asker.ip })).status).toBe(404);
  });

  it('kill A: every node moves to B and registers there with a fresh proof, without restarting, serving all along', { timeout: 120_000 }, async () => {
    const before = await registrationsAt(B);
    const pids = n.map((node) => node.proc.pid);
    await cluster.points[0]!.proc.kill9();
    // the nodes keep serving while they move
    const key = randomUUID();
    const body = `written while A is dead ${randomUUID()}`;
    expect((await putBlob(n[0]!, key, body)).status).toBe(201);
    for (const node of n) {
      await waitFor(async () => {
        const view = await pointViewOf(node);
        return view.url === B && view.state === 'registered';
      }, { what: `${node.url} to register with B`, timeoutMs: 60_000, intervalMs: 200 });
      const view = await pointViewOf(node);
      expect(view.failovers).toBeGreaterThanOrEqual(1);
      expect(view.known).toEqual([A, B]);
      expect(node.proc.hasExited()).toBe(false);
    }
    expect(n.map((node) => node.proc.pid)).toEqual(pids);
    // the node's metrics name the Point it is registered with
    const metrics = await (await request(`${n[0]!.url}/metrics`)).body.text();
    expect(metrics).toContain(`cdn_point_known{point="${B}"} 1`);
    expect(metrics).toContain(`cdn_point_known{point="${A}"} 0`);
    expect(metrics).toMatch(/^cdn_point_failovers_total\{reason="heartbeats"\} [1-9]/m);
    // B registered them (a fresh proof each), and hands them out
    expect(await registrationsAt(B)).toBeGreaterThanOrEqual(before + n.length);
    const ids = await lookAt(B);
    for (const node of n) expect(ids).toContain(node.id);
    for (const node of n) await waitHeld(node, key, `"${sha(body)}"`);
  });

  it('a new node that knows only B finds them and replicates a PUT with them', { timeout: 120_000 }, async () => {
    const fresh = await cluster.addNode(B);
    await waitMembership([...n, fresh]);
    expect(await pointViewOf(fresh)).toMatchObject({ url: B, state: 'registered' });
    const key = randomUUID();
    const body = `from the node that knows only B ${randomUUID()}`;
    const put = await putBlob(fresh, key, body);
    expect(put.status).toBe(201);
    for (const node of n) await waitHeld(node, key, `"${sha(body)}"`);
    const read = await getBlob(n[2]!, key);
    expect([read.status, read.body.toString()]).toEqual([200, body]);
  });

  it('a new node started with --bootstrap DEAD,LIVE (DEAD a closed port) joins through LIVE', { timeout: 120_000 }, async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const late = await cluster.addNode(`${dead},${B}`);
    await waitFor(async () => {
      const view = await pointViewOf(late);
      return view.url === B && view.state === 'registered';
    }, { what: 'the node to register with the live Point', timeoutMs: 60_000, intervalMs: 200 });
    const view = await pointViewOf(late);
    expect(view.known.slice(0, 2)).toEqual([dead, B]);
    // a move is a heartbeat fail-over; skipping a dead Point at registration is not one
    expect(view.failovers).toBe(0);
    await waitMembership([n[0]!, late]);
  });
});
