/**
 * Revocation spreads by gossip (issue 13): three nodes with the same admin
 * public key and a real Point on Redis and PostgreSQL. A token revoked on
 * node A is refused by B and C within a few rounds; a node that was down
 * when it spread learns it from the periodic sync once it is back, and
 * keeps it across a restart; a registered member gossiping a revocation
 * signed by another key gets it neither stored nor relayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { runCli, stopAll } from '../../helpers/process.js';
import { removeDir, tempDir } from '../../helpers/node.js';
import { startCluster, waitMembership, type Cluster, type ClusterNode } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { rogue } from '../../helpers/rogue.js';
import { PROTOCOL_VERSION } from '../../../src/gossip/core/messages.js';

let cluster: Cluster;
let keyDir: string;
let keyFile: string;

async function put(node: ClusterNode, token: string): Promise<number> {
  try {
    const res = await request(`${node.url}/blobs/${randomUUID()}`, { method: 'PUT', body: 'x', headers: { authorization: `Bearer ${token}` } });
    await res.body.dump();
    return res.statusCode;
  } catch (err) {
    // a node that stopped answering: say whether it died, and with what last words
    const state = node.proc.hasExited() ? 'has exited' : 'is running';
    throw new Error(`${node.url} (${state}): ${(err as Error).message}; its output ends:\n${node.proc.output().slice(-3000)}`, { cause: err });
  }
}

async function token(file: string): Promise<string> {
  const r = await runCli(['auth', 'token', '--admin-key', file, '--scope', 'write', '--ttl', '1h']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

beforeAll(async () => {
  keyDir = await tempDir('gcdn-admin-');
  const init = await runCli(['auth', 'init', '--dir', keyDir]);
  expect(init.code, init.stderr).toBe(0);
  keyFile = `${keyDir}/admin-key.pem`;
  cluster = await startCluster(3, { nodeArgs: ['--auth-public-key', init.stdout.trim()] });
  await waitMembership(cluster.nodes);
}, 180_000);

afterAll(async () => {
  await cluster?.close();
  await stopAll();
  await removeDir(keyDir);
});

describe('revocation across a cluster', { timeout: 180_000 }, () => {
  it('a token revoked on one node is refused by every node within a few rounds', async () => {
    const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const victim = await token(keyFile);
    const bystander = await token(keyFile);
    for (const n of [a, b, c]) expect(await put(n, victim)).toBe(201);
    const r = await runCli(['auth', 'revoke', victim, '--admin-key', keyFile, '--node', a.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(await put(a, victim)).toBe(403);
    await waitFor(async () => (await put(b, victim)) === 403 && (await put(c, victim)) === 403, { what: 'nodes B and C to refuse the revoked token', timeoutMs: 30_000, intervalMs: 200 });
    for (const n of [a, b, c]) expect(await put(n, bystander)).toBe(201);
  });

  it('a node down while a revocation spread learns it once back, and keeps it across its restart', async () => {
    const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const victim = await token(keyFile);
    expect(await put(c, victim)).toBe(201);
    await c.proc.stop();
    const r = await runCli(['auth', 'revoke', victim, '--admin-key', keyFile, '--node', b.url]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(async () => (await put(a, victim)) === 403, { what: 'node A to refuse the revoked token', timeoutMs: 30_000, intervalMs: 200 });
    const back = await cluster.restartNode(c);
    await waitFor(async () => (await put(back, victim)) === 403, { what: 'the restarted node C to learn the revocation', timeoutMs: 60_000, intervalMs: 250 });
    // it keeps it: stopped and started again, it refuses at once, before any peer could tell it
    await back.proc.stop();
    const again = await cluster.restartNode(back);
    expect(await put(again, victim)).toBe(403);
  });

  it('a revocation signed by another key, gossiped by a registered member, is neither kept nor relayed', async () => {
    const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const victim = await token(keyFile);
    const { mintToken, readAdminKey } = await import('../../../src/auth/tokens.js');
    const { SignJWT, decodeJwt } = await import('jose');
    const { createPrivateKey, generateKeyPairSync } = await import('node:crypto');
    const stranger = createPrivateKey(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const { jti, exp } = decodeJwt(victim) as { jti: string; exp: number };
    // shaped exactly like a real revocation of the victim, but signed by a stranger
    const forged = await new SignJWT({ revokes: jti, iat: Math.floor(Date.now() / 1000), exp }).setProtectedHeader({ alg: 'EdDSA', typ: 'cdn-revocation+jwt' }).sign(stranger);
    const member = rogue();
    try {
      const reg = await member.register(cluster.point.url, 7000);
      expect(reg.status, JSON.stringify(reg.json)).toBe(201);
      const sent = await member.send(a, JSON.stringify({ v: PROTOCOL_VERSION, from: member.identity.id, type: 'revocations', items: [forged] }));
      expect(sent.status, JSON.stringify(sent.json)).toBe(204);
    } finally {
      await member.close();
    }
    // a genuine revocation sent after it has reached every node: rounds have passed, and the victim still works everywhere
    const marker = (await mintToken(await readAdminKey(keyFile), { scope: 'write', ttlSeconds: 3600 })).token;
    const r = await runCli(['auth', 'revoke', marker, '--admin-key', keyFile, '--node', a.url]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(async () => (await put(b, marker)) === 403 && (await put(c, marker)) === 403, { what: 'the genuine revocation to reach B and C', timeoutMs: 30_000, intervalMs: 200 });
    for (const n of [a, b, c]) expect(await put(n, victim)).toBe(201);
  });
});
