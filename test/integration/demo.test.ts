/**
 * `gossip-cdn demo`: one command starts an embedded Point and N nodes with no
 * services at all, prints their URLs, and Ctrl-C stops every process it
 * started.
 */
import { afterAll, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { startCli, stopAll } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { removeDir, tempDir } from '../helpers/node.js';

const dirs: string[] = [];
afterAll(async () => {
  await stopAll();
  for (const d of dirs) await removeDir(d);
});

/** Processes whose command line mentions `needle` (the demo's data dir names every child). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

it('starts a Point and three nodes, replicates, and stops everything on Ctrl-C', { timeout: 120_000 }, async () => {
  const dir = await tempDir('gcdn-demo-');
  dirs.push(dir);
  const base = 20_000 + Math.floor(Math.random() * 20_000);
  const demo = startCli(['demo', '--nodes', '3', '--base-port', String(base), '--data-dir', dir]);
  await waitFor(() => demo.output().includes('Press Ctrl-C') || (demo.hasExited() && Promise.reject(new Error(demo.output()))), { what: 'the demo to print its URLs', timeoutMs: 90_000, intervalMs: 100 });
  const urls = [...demo.output().matchAll(/node \d+ {2}(http:\/\/\S+)/g)].map((m) => m[1] as string);
  expect(urls).toHaveLength(3);
  expect(demo.output()).toContain('curl -X PUT');

  const key = randomUUID();
  expect((await fetch(`${urls[0]}/blobs/${key}`, { method: 'PUT', body: 'hello, demo' })).status).toBe(201);
  expect(await (await fetch(`${urls[2]}/blobs/${key}`)).text()).toBe('hello, demo');
  expect(processesMentioning(dir).length).toBeGreaterThanOrEqual(4);

  demo.child.kill('SIGINT');
  expect(await demo.exited).toBe(0);
  expect(demo.output()).toContain('all demo processes stopped');
  expect(processesMentioning(dir)).toEqual([]);
  for (const url of urls) await expect(fetch(`${url}/healthz`)).rejects.toThrow();
});

it('refuses bad flags with one line', async () => {
  const { runCli } = await import('../helpers/process.js');
  const r = await runCli(['demo', '--nodes', '0']);
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/--nodes/);
});
