/**
 * `gossip-cdn bootstrap` as a user runs it: the real CLI process, in
 * embedded mode (in-process registry, PGlite in --data-dir) and on real Redis
 * and Postgres; bans survive a restart; bad flags fail in one line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { freePort } from '../../helpers/net.js';
import { runCli, startCli, stopAll, waitHealthy } from '../../helpers/process.js';
import { dropPrefix, freshDatabase, postgresForTests, redisForTests, uniquePrefix } from '../../helpers/services.js';
import { call, closeAgents, provenReg, q, registerNode } from './harness.js';

const dirs: string[] = [];
afterAll(async () => {
  await stopAll();
  await closeAgents();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Environment with no backend URLs, so the Point runs embedded. */
const EMBEDDED = { REDIS_URL: '', DATABASE_URL: '', CLUSTER_SECRET: '', PORT: '', HOST: '', DATA_DIR: '' };

async function bootstrap(args: string[], env: NodeJS.ProcessEnv = EMBEDDED) {
  const port = await freePort();
  const proc = startCli(['bootstrap', '--port', String(port), '--host', '127.0.0.1', ...args], { env });
  const url = `http://127.0.0.1:${port}`;
  // fail at once, with the output, if the process exits instead of serving
  const exited = proc.exited.then((code) => { throw new Error(`bootstrap exited with ${code}:\n${proc.output()}`); });
  await Promise.race([waitHealthy(proc, `${url}/healthz`, 60_000), exited]);
  exited.catch(() => undefined);
  return { proc, url };
}

test('embedded mode says so, serves the API, and keeps bans across a restart in --data-dir', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gcdn-point-cli-'));
  dirs.push(dir);
  const first = await bootstrap(['--data-dir', dir]);
  expect(first.proc.output()).toMatch(/Point listening on http:\/\/127\.0\.0\.1:\d+ \(registry: in-process \(embedded\); banlist: PGlite in .* \(embedded\)\)/);
  expect((await call(first.url, 'GET', '/healthz')).json).toMatchObject({ status: 'ok', registry: { kind: 'memory' }, banlist: { kind: 'pglite' } });

  const a = await registerNode(first.url, '127.0.0.2');
  const b = await registerNode(first.url, '127.0.0.3');
  const victim = await registerNode(first.url, '127.0.0.4');
  expect((await call(first.url, 'GET', `/look${q({ key: a.key, numnodes: 5 })}`)).json).toHaveLength(2);
  await call(first.url, 'POST', '/ban', { from: a.ip, body: { key: a.key, ip: victim.ip, reason: 'bad data' } });
  expect((await call(first.url, 'POST', '/ban', { from: b.ip, body: { key: b.key, ip: victim.ip, reason: 'bad data' } })).json).toMatchObject({ banned: true });
  expect(await first.proc.stop()).toBe(0);

  const second = await bootstrap(['--data-dir', dir]);
  const back = await call(second.url, 'POST', '/reg', { from: victim.ip, body: await provenReg(second.url, generateIdentity()) });
  expect([back.status, back.code]).toEqual([403, 'POINT_ERR_BANNED']);
  // the embedded registry starts empty: old session keys are gone, registering again works
  expect((await call(second.url, 'POST', '/heartbeat', { body: { key: a.key } })).status).toBe(401);
  await registerNode(second.url, '127.0.0.2');
  expect(await second.proc.stop()).toBe(0);
});

test('on real Redis and Postgres from the environment twins, with knobs from flags', async () => {
  const [redis, postgres] = await Promise.all([redisForTests(), postgresForTests()]);
  const database = await freshDatabase(postgres.url);
  const prefix = uniquePrefix();
  try {
    const { proc, url } = await bootstrap(['--heartbeat-ttl', '7', '--peer-points', 'http://10.0.0.1:8080,http://10.0.0.2:8080'], {
      ...EMBEDDED, REDIS_URL: redis.url, DATABASE_URL: database.url, POINT_REDIS_PREFIX: prefix, POINT_BAN_QUORUM: '1',
    });
    expect(proc.output()).toContain('(registry: Redis; banlist: PostgreSQL)');
    expect((await call(url, 'GET', '/healthz')).json).toEqual({ status: 'ok', registry: { kind: 'redis', up: true }, banlist: { kind: 'postgres', up: true } });
    const reg = await call(url, 'POST', '/reg', { body: await provenReg(url, generateIdentity()) });
    expect((reg.json as { ttl: number }).ttl).toBe(7);
    const { key } = reg.json as { key: string };
    expect((await call(url, 'GET', `/points${q({ key })}`)).json).toHaveLength(2);
    expect((await call(url, 'POST', '/ban', { body: { key, ip: '10.0.0.5', reason: 'x' } })).json).toMatchObject({ banned: true, quorum: 1 });
    expect(await proc.stop()).toBe(0);
  } finally {
    await database.drop();
    await dropPrefix(redis.url, prefix);
    await Promise.all([redis.close(), postgres.close()]);
  }
});

test('bad flags and bad environment values: one line on stderr, non-zero exit, no stack trace', async () => {
  const cases: Array<[string[], NodeJS.ProcessEnv]> = [
    [['--port', 'abc'], {}],
    [['--port', '70000'], {}],
    [['--ban-quorum', '0'], {}],
    [['--log-level', 'loud'], {}],
    [['--no-such-flag'], {}],
    [['--peer-points', 'not a url'], {}],
    [['--redis-url', 'not a url'], {}],
    [[], { PORT: 'eighty' }],
    [[], { POINT_HEARTBEAT_TTL: '-5' }],
    [['--cluster-secret', 'short'], {}],
  ];
  for (const [args, env] of cases) {
    const { code, stdout, stderr } = await runCli(['bootstrap', ...args], { env: { ...EMBEDDED, ...env } });
    const what = `${args.join(' ')} ${JSON.stringify(env)}`;
    expect(code, what).not.toBe(0);
    expect(stdout, what).toBe('');
    const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
    expect(lines, what).toHaveLength(1);
    expect(lines[0], what).toMatch(/error|invalid/i);
    expect(stderr, what).not.toMatch(/\n\s+at /);
  }
});

test('a port already in use is a one-line error', async () => {
  // Any listener holds the port (an embedded Point as the holder cost a PGlite start-up of its own).
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  try {
    const port = String((holder.address() as AddressInfo).port);
    const dir = mkdtempSync(join(tmpdir(), 'gcdn-point-cli-'));
    dirs.push(dir);
    const { code, stderr } = await runCli(['bootstrap', '--port', port, '--host', '127.0.0.1', '--data-dir', dir], { env: EMBEDDED });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('EADDRINUSE');
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
});
