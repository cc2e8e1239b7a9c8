/**
 * `gossip-cdn demo`: one command starts an embedded Point and N nodes with no
 * services at all, says what it is doing while they start, prints their URLs
 * and client examples that run as printed, restarts a process that dies, and
 * Ctrl-C stops every process it started.
 *
 * The tests of the `describe` share one demo and run in order: start-up,
 * the printed examples, a kill -9 and its restart, then Ctrl-C.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { runCli, startCli, stopAll, type CliProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { removeDir, tempDir } from '../helpers/node.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

const dirs: string[] = [];
afterAll(async () => {
  await stopAll();
  for (const d of dirs) await removeDir(d);
});

/** Pids of processes one of whose arguments is exactly `arg`, or (with `contains`) mentions it. */
function processesWith(arg: string, contains = false): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => (contains ? a.includes(arg) : a === arg))) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

/** Runs a shell script with bash from the repo root, as a user would paste it. */
async function bash(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', `set -e\n${script}`], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The indented example lines printed after `heading`, up to the next unindented line. */
function examplesAfter(output: string, heading: string): string[] {
  const lines = output.split('\n');
  const start = lines.indexOf(heading);
  expect(start, `"${heading}" in the demo's output`).toBeGreaterThanOrEqual(0);
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    block.push(line.trim());
  }
  return block;
}

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  expect(res.status, `GET ${url}`).toBe(200);
  return res.text();
}

/**
 * A base port for the demo's fixed range, below Linux's ephemeral range (32768 and up): every other
 * test takes its ports from the OS (port 0), and outgoing connections take theirs from that range
 * too, so nothing else can be holding one of these (a CI run once drew 35558 while it was in use).
 */
function demoBasePort(): number {
  return 20_000 + Math.floor(Math.random() * 12_000);
}

async function listsKey(nodeUrl: string, key: string): Promise<boolean> {
  const res = await fetch(`${nodeUrl}/blobs?limit=1000`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) return false;
  const page = await res.json() as { items: { id: string }[] };
  return page.items.some((item) => item.id === key);
}

describe('a demo of a Point and three nodes', { timeout: 120_000 }, () => {
  let dir: string;
  let demo: CliProcess;
  let urls: string[];
  let progressSeenBeforeReady = false;

  beforeAll(async () => {
    dir = await tempDir('gcdn-demo-');
    dirs.push(dir);
    const base = demoBasePort();
    // settings from the shell that would make the demo's nodes something else (HTTPS with files
    // that do not exist, private reads) are not passed on: everything below runs as it would without them
    const shell = { TLS_CERT: join(dir, 'no-such.pem'), TLS_KEY: join(dir, 'no-such.key'), TLS_CA: join(dir, 'no-such-ca.pem'), PRIVATE_READS: '1' };
    demo = startCli(['demo', '--nodes', '3', '--base-port', String(base), '--data-dir', dir], { cwd: REPO, env: shell });
    await waitFor(() => {
      if (demo.hasExited()) throw new Error(`the demo exited:\n${demo.output()}`);
      return demo.output().includes('starting the Point');
    }, { what: 'the demo to say it is starting the Point', timeoutMs: 30_000 });
    progressSeenBeforeReady = !demo.output().includes('Press Ctrl-C');
    await waitFor(() => {
      if (demo.hasExited()) throw new Error(`the demo exited:\n${demo.output()}`);
      return demo.output().includes('Press Ctrl-C');
    }, { what: 'the demo to print its URLs', timeoutMs: 90_000, intervalMs: 100 });
    urls = [...demo.output().matchAll(/node \d+ {2}(http:\/\/\S+)/g)].map((m) => m[1] as string);
  }, 120_000);

  it('says what it is doing while it starts, with elapsed times', () => {
    expect(progressSeenBeforeReady).toBe(true);
    const out = demo.output();
    const ready = out.indexOf('Press Ctrl-C');
    const progress = [
      /^\[\d+\.\ds\] starting the Point \(embedded registry, PGlite banlist, created on this first start\)\.\.\.$/m,
      /^\[\d+\.\ds\] the Point is listening at http:\/\/127\.0\.0\.1:\d+ \(pid \d+; registry: in-process \(embedded\); banlist: PGlite in .* \(embedded\)\)$/m,
      /^\[\d+\.\ds\] starting nodes 1-3 on ports \d+-\d+\.\.\.$/m,
      ...[1, 2, 3].flatMap((i) => [
        new RegExp(`^\\[\\d+\\.\\ds\\] node ${i} listening at http://127\\.0\\.0\\.1:\\d+ \\(pid \\d+\\)$`, 'm'),
        new RegExp(`^\\[\\d+\\.\\ds\\] node ${i} joined the cluster$`, 'm'),
      ]),
      /^\[\d+\.\ds\] ready$/m,
    ];
    for (const line of progress) {
      const m = line.exec(out);
      expect(m, `${String(line)} in:\n${out}`).not.toBeNull();
      expect(m?.index ?? Infinity).toBeLessThan(ready);
    }
    const stamps = [...out.slice(0, ready).matchAll(/^\[(\d+\.\d)s\]/gm)].map((m) => Number(m[1]));
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(urls).toHaveLength(3);
  });

  it('prints curl and client examples that run as printed from the checkout', async () => {
    const out = demo.output();
    // the printed token, as printed: the examples below use it
    const tokenLine = examplesAfter(out, out.split('\n').find((line) => line.startsWith('make more with: ')) ?? 'make more with:');
    expect(tokenLine).toHaveLength(1);
    expect(tokenLine[0]).toMatch(/^TOKEN=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const curl = [...tokenLine, ...examplesAfter(out, 'Try it (with curl):')];
    expect(curl).toHaveLength(5);
    const put = await bash(curl.slice(0, 4).join('\n'));
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toMatch(/^\{.*"etag".*\}hello, gossip$/s);
    const cluster = await bash(curl.join('\n'));
    expect(cluster.code, cluster.stderr).toBe(0);
    expect(cluster.stdout).toContain('"peers"');

    const client = [...tokenLine, ...examplesAfter(out, 'or with the client commands:')];
    expect(client).toHaveLength(4);
    const roundTrip = await bash(client.slice(0, 3).join('\n'));
    expect(roundTrip.code, roundTrip.stderr).toBe(0);
    expect(roundTrip.stdout).toBe('hello, gossip\n');
    const status = await bash(client.join('\n'));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^node +n[0-9a-f]{16}$/m);
    expect(status.stdout).toMatch(/^peers +\d+ alive/m);
  });

  it('restarts a node killed with kill -9 over its data dir; the others keep serving', async () => {
    const [one, two, three] = urls as [string, string, string];
    const token = /^ {2}TOKEN=(\S+)$/m.exec(demo.output())?.[1] ?? '';
    const authorization = { authorization: `Bearer ${token}` };
    // without the token, the demo's nodes refuse writes
    expect((await fetch(`${one}/blobs/${randomUUID()}`, { method: 'PUT', body: 'anonymous' })).status).toBe(401);
    const before = randomUUID();
    expect((await fetch(`${one}/blobs/${before}`, { method: 'PUT', body: 'written before the kill', headers: authorization })).status).toBe(201);
    await waitFor(() => listsKey(two, before), { what: 'node 2 to hold the first blob', timeoutMs: 30_000 });

    const nodeDir = join(dir, 'node-2');
    const [pid, ...more] = processesWith(nodeDir);
    expect(more).toEqual([]);
    expect(demo.output()).toMatch(new RegExp(`node 2 listening at \\S+ \\(pid ${pid}\\)`));
    process.kill(pid as number, 'SIGKILL');
    await waitFor(() => demo.output().includes('node 2 died (SIGKILL); restarting it'), { what: 'the demo to report the death', timeoutMs: 10_000 });

    // While node 2 is down, the others serve, and take a write node 2 misses.
    const during = randomUUID();
    expect((await fetch(`${one}/blobs/${during}`, { method: 'PUT', body: 'written while node 2 was down', headers: authorization })).status).toBe(201);
    await expect(fetch(`${two}/healthz`), 'node 2 is down while the second blob is written').rejects.toThrow();
    expect(await get(`${three}/blobs/${during}`)).toBe('written while node 2 was down');
    expect(await get(`${three}/blobs/${before}`)).toBe('written before the kill');
    expect(await get(`${one}/blobs/${before}`)).toBe('written before the kill');

    const restarted = await waitFor(() => /node 2 restarted \(pid (\d+)\), listening at (\S+)/.exec(demo.output()) ?? undefined, { what: 'node 2 to be restarted', timeoutMs: 30_000 });
    expect(restarted[2]).toBe(two);
    expect(processesWith(nodeDir)).toEqual([Number(restarted[1])]);
    expect(Number(restarted[1])).not.toBe(pid);
    await waitFor(() => demo.output().includes('node 2 rejoined the cluster'), { what: 'node 2 to rejoin', timeoutMs: 30_000 });

    // It catches up: the write it missed reaches its own index, and it serves both blobs.
    await waitFor(() => listsKey(two, during), { what: 'the restarted node 2 to catch up on the write it missed', timeoutMs: 60_000 });
    expect(await get(`${two}/blobs/${before}`)).toBe('written before the kill');
    expect(await get(`${two}/blobs/${during}`)).toBe('written while node 2 was down');
    expect(await get(`${three}/blobs/${during}`)).toBe('written while node 2 was down');
    expect(demo.hasExited()).toBe(false);
  });

  it('stops every process on Ctrl-C and exits 0', async () => {
    expect(processesWith(dir, true).length).toBeGreaterThanOrEqual(4);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('all demo processes stopped');
    expect(processesWith(dir, true)).toEqual([]);
    for (const url of urls) await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

it('refuses bad flags with one line', async () => {
  const r = await runCli(['demo', '--nodes', '0']);
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/--nodes/);
});

it('stops cleanly on SIGTERM during start-up, leaving no process behind', { timeout: 60_000 }, async () => {
  const dir = await tempDir('gcdn-demo-');
  dirs.push(dir);
  const base = demoBasePort();
  const demo = startCli(['demo', '--nodes', '1', '--base-port', String(base), '--data-dir', dir], { cwd: REPO });
  await waitFor(() => processesWith(join(dir, 'point')).length === 1 && demo.output().includes('starting the Point'), { what: 'the demo to start the Point', timeoutMs: 30_000 });
  demo.child.kill('SIGTERM');
  expect(await demo.exited).toBe(0);
  expect(demo.output()).toContain('all demo processes stopped');
  expect(demo.output()).not.toContain('Press Ctrl-C');
  expect(processesWith(dir, true)).toEqual([]);
});
