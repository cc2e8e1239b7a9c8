/**
 * The live status page at `/`, in a real headless Chromium against a running
 * `gossip-cdn demo`: it shows every node, draws them, keeps up with a write,
 * and breaks no Content-Security-Policy rule (no external resource at all).
 * Saves a screenshot under test-output/.
 */
import { afterAll, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startCli, stopAll } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { removeDir, tempDir } from '../helpers/node.js';
import { freePort } from '../helpers/net.js';
import { requireChromium } from '../helpers/prereqs.js';

// Before the demo starts: without a browser this fails at once, in one line.
const CHROMIUM = requireChromium();
const outDir = fileURLToPath(new URL('../../test-output/', import.meta.url));

let browser: Browser | undefined;
const dirs: string[] = [];
afterAll(async () => {
  await browser?.close();
  await stopAll();
  for (const d of dirs) await removeDir(d);
});

it('shows every node of a running demo, live, with no CSP violation', { timeout: 120_000 }, async () => {
  const dir = await tempDir('gcdn-page-');
  dirs.push(dir);
  // Three consecutive free ports are likely from a random base; the demo refuses taken ones in one line.
  const base = await freePort() % 30_000 + 20_000;
  const demo = startCli(['demo', '--nodes', '3', '--base-port', String(base), '--data-dir', dir]);
  await waitFor(() => demo.output().includes('Press Ctrl-C') || (demo.hasExited() && Promise.reject(new Error(demo.output()))), { what: 'the demo to start', timeoutMs: 90_000, intervalMs: 100 });
  const urls = [...demo.output().matchAll(/node \d+ {2}(http:\/\/\S+)/g)].map((m) => m[1] as string);
  expect(urls).toHaveLength(3);
  // the demo's nodes take writes with the admin token it prints
  const token = /TOKEN=(\S+)/.exec(demo.output())?.[1];
  expect(token).toBeDefined();
  const ids = await Promise.all(urls.map(async (u) => ((await (await fetch(`${u}/cluster`)).json()) as { id: string }).id));
  // gossip needs a moment for every node to know every other
  await waitFor(async () => {
    const view = await (await fetch(`${urls[0]}/cluster`)).json() as { peers: { id: string; state: string }[] };
    return ids.slice(1).every((id) => view.peers.some((p) => p.id === id && p.state === 'alive'));
  }, { what: 'node 1 to see the others alive', timeoutMs: 60_000, intervalMs: 200 });

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  const foreign: string[] = [];
  page.on('request', (r) => { if (!r.url().startsWith(urls[0] as string)) foreign.push(r.url()); });

  const res = await page.goto(`${urls[0]}/`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['content-security-policy']).toContain("connect-src 'self'");
  // The script has taken over once the status line says "live".
  await page.locator('#updated', { hasText: /^live/ }).waitFor({ timeout: 30_000 });
  for (const id of ids) {
    await page.locator(`#nodes tr[data-node-id="${id}"].alive`).waitFor({ timeout: 30_000 });
    await page.locator(`#picture g.member[data-node-id="${id}"]`).waitFor({ timeout: 30_000 });
  }

  // A write on node 3 shows up as node 3's count on node 1's page, and in the activity feed.
  const key = randomUUID();
  expect((await fetch(`${urls[2]}/blobs/${key}`, { method: 'PUT', body: 'watch this', headers: { authorization: `Bearer ${token}` } })).status).toBe(201);
  await page.locator(`#nodes tr[data-node-id="${ids[2]}"] td:nth-child(6)`, { hasText: /^1$/ }).waitFor({ timeout: 30_000 });
  // each peer's clock offset, measured from its answers (the demo's clocks agree: well under a second)
  await page.locator(`#nodes tr[data-node-id="${ids[2]}"] td:nth-child(5)`, { hasText: /^[+-]?0\.\d\d s$/ }).waitFor({ timeout: 30_000 });
  await page.locator('#activity', { hasText: 'live blobs' }).waitFor({ timeout: 30_000 });

  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: `${outDir}status-page.png`, fullPage: true });
  expect(problems, problems.join('\n')).toEqual([]);
  expect(foreign, foreign.join('\n')).toEqual([]);

  demo.child.kill('SIGINT');
  expect(await demo.exited).toBe(0);
});
