/**
 * The `gossip-cdn node` command as a user meets it: bad flags and unusable
 * settings give a one-line error and a non-zero exit, never a stack trace;
 * environment twins work; a node with no reachable Point still serves.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { runCli, stopAll } from '../../helpers/process.js';
import { startNode, removeDir, tempDir } from '../../helpers/node.js';
import { freePort } from '../../helpers/net.js';

const dirs: string[] = [];
afterAll(async () => {
  await stopAll();
  for (const d of dirs) await removeDir(d);
});

function expectOneLineError(r: { code: number | string; stderr: string }, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n').filter((l) => l.trim() !== '' && !l.includes('--help'));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('gossip-cdn node', () => {
  it.each([
    [['node', '--port', 'abc'], /--port \(PORT\): must be a port number/],
    [['node', '--port', '70000'], /port/],
    [['node', '--bootstrap', 'not a url'], /^gossip-cdn: error: --bootstrap \(BOOTSTRAP_URL\): item 1 \(not a url\) must be an http\(s\) URL/],
    [['node', '--bootstrap', 'http://127.0.0.1:8080,ftp://127.0.0.1:8081'], /--bootstrap \(BOOTSTRAP_URL\): item 2 \(ftp:\/\/127\.0\.0\.1:8081\) must be an http\(s\) URL/],
    [['node', '--bootstrap', 'http://127.0.0.1:8080,http://127.0.0.1:8080/'], /--bootstrap \(BOOTSTRAP_URL\): item 2 .* names the same Point as an earlier one/],
    [['node', '--bootstrap', 'http://127.0.0.1:8080,,http://127.0.0.1:8081'], /--bootstrap \(BOOTSTRAP_URL\): item 2 is empty/],
    [['node', '--bootstrap', Array.from({ length: 17 }, (_, i) => `http://127.0.0.1:${8100 + i}`).join(',')], /--bootstrap \(BOOTSTRAP_URL\): must name at most 16 Points \(it names 17\)/],
    [['node', '--advertise', 'nohostport'], /advertise/],
    [['node', '--quota', 'lots'], /quota/],
    [['node', '--log-level', 'loud'], /--log-level/],
    [['node', '--max-peers', '2'], /--max-peers \(MAX_PEERS\): must be at least 3/],
    [['node', '--max-peers', 'many'], /--max-peers \(MAX_PEERS\): must be a whole number/],
    [['node', '--no-such-flag'], /unknown option/],
  ])('%j → one-line error, non-zero exit', async (args, pattern) => {
    expectOneLineError(await runCli(args as string[]), pattern);
  });

  it('BOOTSTRAP_URL is checked as --bootstrap is', async () => {
    expectOneLineError(await runCli(['node'], { env: { BOOTSTRAP_URL: 'http://127.0.0.1:8080, point:8080' } }), /^gossip-cdn: error: --bootstrap \(BOOTSTRAP_URL\): item 2 \(point:8080\) must be an http\(s\) URL/);
  });

  it('a taken port gives a one-line error that says so', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    const dir = await tempDir();
    dirs.push(dir);
    try {
      expectOneLineError(await runCli(['node', '--port', String(port), '--data-dir', dir]), /port is taken|EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  it('reads its settings from the environment twins', async () => {
    const port = await freePort();
    const dir = await tempDir();
    dirs.push(dir);
    const { proc, url } = await startNode({ dataDir: dir, port, env: { MAX_BLOB_SIZE: '10', DISK_QUOTA: '1MB' } });
    const res = await fetch(`${url}/blobs/${crypto.randomUUID()}`, { method: 'PUT', body: 'more than ten bytes' });
    expect(res.status).toBe(413);
    await proc.stop();
  });

  it('serves with no Point reachable, says it is not joined, and keeps retrying', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const { proc, url } = await startNode({ dataDir: dir, alone: false });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: { message: string } }).error.message).toMatch(/not joined/);
    const key = crypto.randomUUID();
    expect((await fetch(`${url}/blobs/${key}`, { method: 'PUT', body: 'alone' })).status).toBe(201);
    expect(await (await fetch(`${url}/blobs/${key}`)).text()).toBe('alone');
    const view = (await (await fetch(`${url}/cluster`)).json()) as { point: { state: string; lastError: string | null } };
    expect(['unreachable', 'registering']).toContain(view.point.state);
    expect(await proc.stop()).toBe(0);
  });

  it('--alone is ready at once and never contacts the Point', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const { proc, url } = await startNode({ dataDir: dir });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const view = (await (await fetch(`${url}/cluster`)).json()) as { point: { state: string } };
    expect(view.point.state).toMatch(/not used/);
    await proc.stop();
  });

  it('--help lists every flag with its environment twin', async () => {
    const r = await runCli(['node', '--help']);
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' ');
    for (const env of ['PORT', 'HOST', 'ADVERTISE', 'DATA_DIR', 'BOOTSTRAP_URL', 'CLUSTER_SECRET', 'LOG_LEVEL']) expect(text).toContain(`env: ${env})`);
  });
});
