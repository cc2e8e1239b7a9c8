/**
 * Client tokens on a real node process (issue 13): `gossip-cdn auth init`
 * writes a 0600 admin key; every scope rule, blob binding, expiry, presigned
 * URLs and private reads, end to end over HTTP and through the CLI;
 * revocation on one node, surviving its restart; a forged revocation
 * refused; the anonymous-write rule; and no token in the node's logs,
 * /metrics or /cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { runCli, startCli, stopAll, waitHealthy } from '../../helpers/process.js';
import { startNode, removeDir, tempDir, type TestNode } from '../../helpers/node.js';
import { freePort } from '../../helpers/net.js';
import { nextHost } from '../../helpers/cluster.js';
import { mintToken, readAdminKey } from '../../../src/auth/tokens.js';

const dirs: string[] = [];
const tokens: string[] = [];

afterAll(async () => {
  await stopAll();
  for (const d of dirs) await removeDir(d);
});

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; text: string }

async function call(base: string, method: string, path: string, token?: string, body?: string, extra: Record<string, string> = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...extra };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'text/plain';
  const res = await request(`${base}${path}`, { method: method as 'GET', headers, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function expectCode(r: Answer, status: number, code: string, bearer = true): void {
  expect(r.status, r.text).toBe(status);
  const body = JSON.parse(r.text) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  for (const t of tokens) expect(body.error.message).not.toContain(t);
  if (status === 401 && bearer) expect(r.headers['www-authenticate']).toBe('Bearer');
}

async function cliToken(keyFile: string, ...args: string[]): Promise<string> {
  const r = await runCli(['auth', 'token', '--admin-key', keyFile, ...args]);
  expect(r.code, r.stderr).toBe(0);
  const token = r.stdout.trim();
  expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  tokens.push(token);
  return token;
}

async function initKey(): Promise<{ dir: string; keyFile: string; publicKey: string }> {
  const dir = await tempDir('gcdn-admin-');
  dirs.push(dir);
  const r = await runCli(['auth', 'init', '--dir', dir]);
  expect(r.code, r.stderr).toBe(0);
  return { dir, keyFile: join(dir, 'admin-key.pem'), publicKey: r.stdout.trim() };
}

describe('gossip-cdn auth init', () => {
  it('writes the private key mode 0600 and the public key beside it, prints the public key, never overwrites', async () => {
    const { dir, keyFile, publicKey } = await initKey();
    expect(publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, 'admin-key.pub'), 'utf8')).trim()).toBe(publicKey);
    const before = await readFile(keyFile, 'utf8');
    expect(before).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const again = await runCli(['auth', 'init', '--dir', dir]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/already exists; it is not overwritten/);
    expect(await readFile(keyFile, 'utf8')).toBe(before);
  });

  it('refuses bad token requests with one line', async () => {
    const { keyFile } = await initKey();
    for (const [args, pattern] of [
      [['--scope', 'root'], /--scope \(TOKEN_SCOPE\): must be one of read, write, delete, admin/],
      [['--scope', 'write', '--ttl', '10 days'], /--ttl \(TOKEN_TTL\): must be a duration/],
      [['--scope', 'write', '--blob', 'nope'], /--blob \(TOKEN_BLOB\): must be a GUID/],
    ] as const) {
      const r = await runCli(['auth', 'token', '--admin-key', keyFile, ...args]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });
});

describe('a node with --auth-public-key', { timeout: 120_000 }, () => {
  let node: TestNode;
  let admin: { dir: string; keyFile: string; publicKey: string };
  let other: { keyFile: string };
  const t: Record<string, string> = {} as Record<'read' | 'write' | 'delete' | 'admin', string>;
  const bound = randomUUID();
  /** every process of this node (it is restarted below): all their output is checked for tokens */
  const logs: (() => string)[] = [];

  beforeAll(async () => {
    admin = await initKey();
    other = await initKey();
    for (const scope of ['read', 'write', 'delete', 'admin']) t[scope] = await cliToken(admin.keyFile, '--scope', scope, '--ttl', '1h');
    t.bound = await cliToken(admin.keyFile, '--scope', 'write', '--blob', bound);
    t.otherKey = await cliToken(other.keyFile, '--scope', 'admin');
    // expired: minted with a past iat through the same library
    const past = Math.floor(Date.now() / 1000) - 7200;
    t.expired = (await mintToken(await readAdminKey(admin.keyFile), { scope: 'admin', ttlSeconds: 60, nowSec: past })).token;
    tokens.push(t.expired);
    node = await startNode({ args: ['--auth-public-key', admin.publicKey], env: { LOG_LEVEL: 'debug' } });
    const first = node.proc;
    logs.push(() => first.output());
    dirs.push(node.dataDir);
  });

  it('PUT, POST and DELETE follow the scope table', async () => {
    // scope → [PUT, POST, DELETE] of an existing blob
    const table: Record<string, [number, number, number]> = {
      read: [403, 403, 403], write: [201, 201, 403], delete: [403, 403, 204], admin: [201, 201, 204],
    };
    for (const [scope, [put, post, del]] of Object.entries(table)) {
      const key = randomUUID();
      expect((await call(node.url, 'PUT', `/blobs/${key}`, t[scope], 'x')).status, `${scope} PUT`).toBe(put);
      expect((await call(node.url, 'POST', '/blobs', t[scope], 'x')).status, `${scope} POST`).toBe(post);
      const target = randomUUID();
      expect((await call(node.url, 'PUT', `/blobs/${target}`, t.admin, 'x')).status).toBe(201);
      expect((await call(node.url, 'DELETE', `/blobs/${target}`, t[scope])).status, `${scope} DELETE`).toBe(del);
    }
  });

  it('reads stay public without --private-reads', async () => {
    const key = randomUUID();
    expect((await call(node.url, 'PUT', `/blobs/${key}`, t.write, 'public')).status).toBe(201);
    const got = await call(node.url, 'GET', `/blobs/${key}`);
    expect(got.status).toBe(200);
    expect(got.text).toBe('public');
    expect((await call(node.url, 'GET', `/blobs/${key}/versions`)).status).toBe(200);
    expect((await call(node.url, 'GET', '/blobs')).status).toBe(200);
  });

  it('a token seen before is answered from the cache of verified tokens, not by another signature check', async () => {
    const counts = async (): Promise<{ verified: number; cached: number }> => {
      const text = (await call(node.url, 'GET', '/metrics')).text;
      const read = (how: string): number => Number(new RegExp(`cdn_auth_token_checks_total\\{how="${how}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { verified: read('verified'), cached: read('cached') };
    };
    const fresh = await cliToken(admin.keyFile, '--scope', 'write');
    const before = await counts();
    for (let i = 0; i < 10; i++) expect((await call(node.url, 'PUT', `/blobs/${randomUUID()}`, fresh, 'hot path')).status).toBe(201);
    const after = await counts();
    expect(after.verified - before.verified).toBe(1);
    expect(after.cached - before.cached).toBe(9);
  });

  it('a blob-bound token works on that blob only; a POST needs an unbound one', async () => {
    expect((await call(node.url, 'PUT', `/blobs/${bound}`, t.bound, 'mine')).status).toBe(201);
    expect((await call(node.url, 'PUT', `/blobs/${bound.toUpperCase()}`, t.bound, 'mine again')).status).toBe(200);
    expectCode(await call(node.url, 'PUT', `/blobs/${randomUUID()}`, t.bound, 'theirs'), 403, 'CDN_ERR_FORBIDDEN');
    expectCode(await call(node.url, 'POST', '/blobs', t.bound, 'anywhere'), 403, 'CDN_ERR_FORBIDDEN');
  });

  it('missing, malformed, other-key and oversized tokens are 401; expired is 403; nothing is stored', async () => {
    const key = randomUUID();
    expectCode(await call(node.url, 'PUT', `/blobs/${key}`, undefined, 'x'), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'PUT', `/blobs/${key}`, 'not-a-token', 'x'), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'PUT', `/blobs/${key}`, undefined, 'x', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'PUT', `/blobs/${key}`, t.otherKey, 'x'), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'PUT', `/blobs/${key}`, `${t.admin}x`, 'x'), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'PUT', `/blobs/${key}`, `${'a'.repeat(3000)}.${'b'.repeat(3000)}.c`, 'x'), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'PUT', `/blobs/${key}`, t.expired, 'x'), 403, 'CDN_ERR_FORBIDDEN');
    expectCode(await call(node.url, 'DELETE', `/blobs/${bound}`, t.expired), 403, 'CDN_ERR_FORBIDDEN');
    expectCode(await call(node.url, 'GET', `/blobs/${key}`), 404, 'CDN_ERR_NOT_FOUND');
    // ?token= counts only on reads of one blob: never for a write
    expectCode(await call(node.url, 'PUT', `/blobs/${key}?token=${t.admin}`, undefined, 'x'), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'GET', `/blobs/${key}`), 404, 'CDN_ERR_NOT_FOUND');
    // ops endpoints stay public
    for (const path of ['/healthz', '/readyz', '/metrics', '/cluster', '/openapi.json', '/']) expect((await call(node.url, 'GET', path)).status, path).toBe(200);
  });

  it('the CLI sends --token (or CDN_TOKEN); without one, a one-line 401', async () => {
    const file = join(admin.dir, 'upload.txt');
    await writeFile(file, 'from the cli');
    const refused = await runCli(['put', file, '--node', node.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/401 CDN_ERR_UNAUTHORIZED/);
    const put = await runCli(['put', file, '--node', node.url, '--token', t.write as string]);
    expect(put.code, put.stderr).toBe(0);
    const id = put.stdout.trim();
    const got = await runCli(['get', id, '--node', node.url]);
    expect(got.stdout).toBe('from the cli');
    const wrong = await runCli(['rm', id, '--node', node.url, '--token', t.write as string]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/403 CDN_ERR_FORBIDDEN/);
    expect(wrong.stderr).not.toContain(t.write);
    const rm = await runCli(['rm', id, '--node', node.url], { env: { CDN_TOKEN: t.delete } });
    expect(rm.code, rm.stderr).toBe(0);
    expect((await runCli(['get', id, '--node', node.url])).code).toBe(2);
  });

  it('a revoked token is refused, also after a restart; a revocation by another key is refused', async () => {
    const victim = await cliToken(admin.keyFile, '--scope', 'write');
    expect((await call(node.url, 'PUT', `/blobs/${randomUUID()}`, victim, 'before')).status).toBe(201);
    // a revocation signed by another admin key: 401, and the token still works
    const forged = await runCli(['auth', 'revoke', victim, '--admin-key', other.keyFile, '--node', node.url]);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toMatch(/not one this admin key signed/);
    const { mintRevocation } = await import('../../../src/auth/tokens.js');
    const { createPrivateKey, generateKeyPairSync } = await import('node:crypto');
    const stranger = createPrivateKey(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const strangerToken = (await mintToken(stranger, { scope: 'write', ttlSeconds: 3600 })).token;
    const strangerRevocation = (await mintRevocation(stranger, strangerToken)).revocation;
    expectCode(await call(node.url, 'POST', '/auth/revocations', undefined, JSON.stringify({ revocation: strangerRevocation }), { 'content-type': 'application/json' }), 401, 'CDN_ERR_UNAUTHORIZED', false);
    expectCode(await call(node.url, 'POST', '/auth/revocations', undefined, '{"nope":1}', { 'content-type': 'application/json' }), 400, 'CDN_ERR_BAD_BODY');
    // a token passed off as a revocation (same key, other typ): refused
    expectCode(await call(node.url, 'POST', '/auth/revocations', undefined, JSON.stringify({ revocation: victim }), { 'content-type': 'application/json' }), 401, 'CDN_ERR_UNAUTHORIZED', false);
    expect((await call(node.url, 'PUT', `/blobs/${randomUUID()}`, victim, 'still')).status).toBe(201);

    const revoked = await runCli(['auth', 'revoke', victim, '--admin-key', admin.keyFile, '--node', node.url]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked token [A-Za-z0-9_-]{22} /);
    expectCode(await call(node.url, 'PUT', `/blobs/${randomUUID()}`, victim, 'after'), 403, 'CDN_ERR_FORBIDDEN');
    // again: already held, 200
    const twice = await runCli(['auth', 'revoke', victim, '--admin-key', admin.keyFile, '--node', node.url]);
    expect(twice.code, twice.stderr).toBe(0);
    // others are untouched
    expect((await call(node.url, 'PUT', `/blobs/${randomUUID()}`, t.write, 'other')).status).toBe(201);

    await node.proc.stop();
    const again = await startNode({ dataDir: node.dataDir, port: node.port, args: ['--auth-public-key', admin.publicKey], env: { LOG_LEVEL: 'debug' } });
    expectCode(await call(again.url, 'PUT', `/blobs/${randomUUID()}`, victim, 'after restart'), 403, 'CDN_ERR_FORBIDDEN');
    expect((await call(again.url, 'PUT', `/blobs/${randomUUID()}`, t.write, 'other')).status).toBe(201);
    node = again;
    logs.push(() => again.proc.output());
  });

  it('no token appears in the node\'s logs, /metrics or /cluster; refusals are counted by reason', async () => {
    expectCode(await call(node.url, 'DELETE', `/blobs/${bound}`, 'garbage'), 401, 'CDN_ERR_UNAUTHORIZED');
    const metrics = (await call(node.url, 'GET', '/metrics')).text;
    const cluster = (await call(node.url, 'GET', '/cluster')).text;
    expect(metrics).toMatch(/cdn_auth_refused_total\{reason="unauthorized"\} [1-9]/);
    expect(metrics).toMatch(/cdn_auth_refused_total\{reason="forbidden"\} [1-9]/);
    expect(metrics).toMatch(/cdn_auth_token_checks_total\{how="verified"\} [1-9]/);
    const outputs = logs.map((l) => l());
    // refusals were logged at debug, with the request's headers and URL, redacted
    const refusals = outputs.join('').split('\n').filter((line) => line.includes('client request refused for its token'));
    expect(refusals.length).toBeGreaterThan(5);
    expect(refusals.some((line) => line.includes('"authorization":"[Redacted]"'))).toBe(true);
    expect(refusals.some((line) => line.includes('?token=[Redacted]'))).toBe(true);
    for (const token of tokens) {
      for (const [what, text] of [['metrics', metrics], ['cluster', cluster], ...outputs.map((o) => ['log', o])] as const) {
        expect(text.includes(token), `a token in ${what}`).toBe(false);
        // nor its signature alone
        expect(text.includes(token.split('.')[2] as string), `a token signature in ${what}`).toBe(false);
      }
    }
  });
});

describe('a node with --private-reads', { timeout: 120_000 }, () => {
  let node: TestNode;
  let admin: { dir: string; keyFile: string; publicKey: string };
  const key = randomUUID();
  const t: Record<string, string> = {} as Record<'read' | 'write' | 'delete' | 'admin', string>;

  beforeAll(async () => {
    admin = await initKey();
    for (const scope of ['read', 'write', 'admin']) t[scope] = await cliToken(admin.keyFile, '--scope', scope);
    t.boundRead = await cliToken(admin.keyFile, '--scope', 'read', '--blob', key);
    node = await startNode({ args: ['--auth-public-key', admin.publicKey], env: { PRIVATE_READS: '1' } });
    dirs.push(node.dataDir);
    expect((await call(node.url, 'PUT', `/blobs/${key}`, t.write, 'secret')).status).toBe(201);
  });

  it('GET and HEAD of blobs, versions and the listing need a read token', async () => {
    // the fast path (exactly /blobs/{guid}) and express alike
    expectCode(await call(node.url, 'GET', `/blobs/${key}`), 401, 'CDN_ERR_UNAUTHORIZED');
    expect((await call(node.url, 'HEAD', `/blobs/${key}`)).status).toBe(401);
    expectCode(await call(node.url, 'GET', `/blobs/${key}/versions`), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'GET', '/blobs'), 401, 'CDN_ERR_UNAUTHORIZED');
    expectCode(await call(node.url, 'GET', `/blobs/${key}`, t.write), 403, 'CDN_ERR_FORBIDDEN');
    const read = await call(node.url, 'GET', `/blobs/${key}`, t.read);
    expect(read.status).toBe(200);
    expect(read.text).toBe('secret');
    expect((await call(node.url, 'GET', `/blobs/${key}`, t.admin)).text).toBe('secret');
    expect((await call(node.url, 'GET', `/blobs/${key}/versions`, t.read)).status).toBe(200);
    expect((await call(node.url, 'GET', '/blobs', t.read)).status).toBe(200);
    // a bound read token: its blob and its versions, not the listing nor another blob
    expect((await call(node.url, 'GET', `/blobs/${key}`, t.boundRead)).status).toBe(200);
    expect((await call(node.url, 'GET', `/blobs/${key}/versions`, t.boundRead)).status).toBe(200);
    expectCode(await call(node.url, 'GET', '/blobs', t.boundRead), 403, 'CDN_ERR_FORBIDDEN');
    expectCode(await call(node.url, 'GET', `/blobs/${randomUUID()}`, t.boundRead), 403, 'CDN_ERR_FORBIDDEN');
    expect((await call(node.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('a presigned URL from `auth url` reads that blob (GET and HEAD) and nothing else', async () => {
    const r = await runCli(['auth', 'url', key, '--admin-key', admin.keyFile, '--ttl', '10m', '--node', node.url]);
    expect(r.code, r.stderr).toBe(0);
    const url = r.stdout.trim();
    expect(url).toMatch(new RegExp(`^${node.url}/blobs/${key}\\?token=[A-Za-z0-9_.-]+$`));
    const token = new URL(url).searchParams.get('token') as string;
    tokens.push(token);
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('secret');
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${node.url}/blobs/${randomUUID()}?token=${token}`)).status).toBe(403);
    expect((await fetch(`${node.url}/blobs/${key}/versions?token=${token}`)).status).toBe(401);
    expect((await fetch(`${node.url}/blobs?token=${token}`)).status).toBe(401);
    expect((await fetch(url, { method: 'PUT', body: 'overwrite' })).status).toBe(401);
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(401);
    expect((await call(node.url, 'GET', `/blobs/${key}`, t.read)).text).toBe('secret');
    // the CLI reads with --token
    const cli = await runCli(['get', key, '--node', node.url, '--token', t.read as string]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toBe('secret');
    expect(node.proc.output()).not.toContain(token);
  });

  it('--private-reads without --auth-public-key is a one-line config error', async () => {
    const r = await runCli(['node', '--alone', '--private-reads', '--port', String(await freePort()), '--data-dir', admin.dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--private-reads \(PRIVATE_READS\): needs --auth-public-key/);
  });
});

describe('the anonymous-write rule (no --auth-public-key)', { timeout: 120_000 }, () => {
  it('a node on a loopback address accepts anonymous writes', async () => {
    const node = await startNode({ host: nextHost() });
    dirs.push(node.dataDir);
    expect((await call(node.url, 'PUT', `/blobs/${randomUUID()}`, undefined, 'anonymous')).status).toBe(201);
    await node.proc.stop();
  });

  it('on 0.0.0.0 it refuses to start, naming --auth-public-key and --anonymous-writes; with --anonymous-writes it starts', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const port = await freePort();
    const refused = await runCli(['node', '--alone', '--host', '0.0.0.0', '--port', String(port), '--data-dir', dir]);
    expect(refused.code).not.toBe(0);
    const lines = refused.stderr.trim().split('\n');
    expect(lines, refused.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^gossip-cdn: error: .*--auth-public-key.*--anonymous-writes/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    for (const how of [['--anonymous-writes'], []]) {
      const proc = startCli(['node', '--alone', '--host', '0.0.0.0', '--port', String(port), '--data-dir', dir, ...how], { env: how.length === 0 ? { ANONYMOUS_WRITES: 'true' } : {} });
      await waitHealthy(proc, `http://127.0.0.1:${port}/healthz`);
      expect((await call(`http://127.0.0.1:${port}`, 'PUT', `/blobs/${randomUUID()}`, undefined, 'anonymous on purpose')).status).toBe(201);
      await proc.stop();
    }
  });

  it('on 0.0.0.0 with --auth-public-key it starts, and writes need tokens', async () => {
    const admin = await initKey();
    const dir = await tempDir();
    dirs.push(dir);
    const port = await freePort();
    const proc = startCli(['node', '--alone', '--host', '0.0.0.0', '--port', String(port), '--data-dir', dir], { env: { AUTH_PUBLIC_KEY: admin.publicKey } });
    await waitHealthy(proc, `http://127.0.0.1:${port}/healthz`);
    expectCode(await call(`http://127.0.0.1:${port}`, 'PUT', `/blobs/${randomUUID()}`, undefined, 'x'), 401, 'CDN_ERR_UNAUTHORIZED');
    await proc.stop();
  });

  it('a malformed --auth-public-key is a one-line config error', async () => {
    const r = await runCli(['node', '--alone', '--auth-public-key', 'not-a-key', '--port', String(await freePort())]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--auth-public-key \(AUTH_PUBLIC_KEY\): must be base64url of the 32 raw bytes/);
  });
});
