/**
 * The README's curl walkthrough, run as written against a real node, so the
 * examples cannot rot.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { startNode, removeDir, tempDir, type TestNode } from '../../helpers/node.js';
import { stopAll } from '../../helpers/process.js';
import { requireTools } from '../../helpers/prereqs.js';

requireTools(['curl']);

let node: TestNode;
let cwd: string;

beforeAll(async () => {
  node = await startNode();
  cwd = await tempDir('gcdn-readme-');
});

afterAll(async () => {
  await stopAll();
  await removeDir(node.dataDir);
  await removeDir(cwd);
});

function block(marker: string): string {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const at = readme.indexOf(`<!-- readme-test:${marker} -->`);
  expect(at, `README has no readme-test:${marker} block`).toBeGreaterThan(-1);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m).not.toBeNull();
  return m?.[1] ?? '';
}

it('the node API walkthrough runs against a real node', () => {
  const script = block('node-api');
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { ...process.env, NODE: node.url }, encoding: 'utf8', timeout: 60_000 });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  const lines = run.stdout.split('\n');
  // The status-code probes print, in order: 304 (revalidation), 412 (create-only), 404 (after delete).
  expect(lines.filter((l) => /^\d{3}$/.test(l))).toEqual(['304', '412', '404']);
  expect(run.stdout).toContain('cdn_store_live_keys');
});
