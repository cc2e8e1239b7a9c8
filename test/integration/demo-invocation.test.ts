/**
 * How the demo spells this CLI in the client examples it prints: `gossip-cdn`
 * only when that name on PATH is this very CLI, else `node <dist/cli.js>`,
 * relative to the working directory when under it. Real files, symlinks and
 * PATH lists in a temp dir.
 */
import { afterAll, expect, it } from 'vitest';
import { chmod, mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cliInvocation, shellWord } from '../../src/demo/invocation.js';
import { removeDir, tempDir } from '../helpers/node.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

/** A checkout with an executable dist/cli.js, and a bin dir (like npm link's) holding `gossip-cdn` -> it. */
async function checkout(name = 'checkout'): Promise<{ root: string; cli: string; linkedBin: string; otherBin: string; nodeBin: string }> {
  const tmp = await realpath(await tempDir('gcdn-invocation-'));
  dirs.push(tmp);
  const root = join(tmp, name);
  const cli = join(root, 'dist', 'cli.js');
  await mkdir(dirname(cli), { recursive: true });
  await writeFile(cli, '#!/usr/bin/env node\n');
  await chmod(cli, 0o755);
  const linkedBin = join(tmp, 'linked-bin');
  await mkdir(linkedBin);
  await symlink(cli, join(linkedBin, 'gossip-cdn'));
  const otherBin = join(tmp, 'other-bin');
  await mkdir(otherBin);
  await writeFile(join(otherBin, 'gossip-cdn'), '#!/bin/sh\n');
  await chmod(join(otherBin, 'gossip-cdn'), 0o755);
  const nodeBin = dirname(await realpath(process.execPath));
  return { root, cli, linkedBin, otherBin, nodeBin };
}

it('prints gossip-cdn when that name on PATH is this CLI', async () => {
  const c = await checkout();
  expect(cliInvocation({ cli: c.cli, execPath: process.execPath, cwd: c.root, path: [c.linkedBin, c.nodeBin].join(':') })).toBe('gossip-cdn');
  // the first gossip-cdn on PATH is what a shell runs
  expect(cliInvocation({ cli: c.cli, execPath: process.execPath, cwd: c.root, path: [c.otherBin, c.linkedBin, c.nodeBin].join(':') })).toBe('node dist/cli.js');
});

it('prints node with the path of dist/cli.js otherwise: relative under the working directory, else absolute', async () => {
  const c = await checkout();
  const path = [c.otherBin, c.nodeBin].join(':');
  expect(cliInvocation({ cli: c.cli, execPath: process.execPath, cwd: c.root, path })).toBe('node dist/cli.js');
  expect(cliInvocation({ cli: c.cli, execPath: process.execPath, cwd: join(c.root, 'dist'), path })).toBe('node cli.js');
  expect(cliInvocation({ cli: c.cli, execPath: process.execPath, cwd: join(c.root, 'docs'), path })).toBe(`node ${c.cli}`);
  expect(cliInvocation({ cli: c.cli, execPath: process.execPath, cwd: '/', path })).toBe(`node ${c.cli.slice(1)}`);
});

it('names the Node binary by path when `node` on PATH is another one, and quotes what needs quoting', async () => {
  const c = await checkout("it's a checkout");
  expect(cliInvocation({ cli: c.cli, execPath: process.execPath, cwd: dirname(c.root), path: c.otherBin }))
    .toBe(`${shellWord(process.execPath)} 'it'\\''s a checkout/dist/cli.js'`);
  expect(shellWord('/usr/bin/node')).toBe('/usr/bin/node');
  expect(shellWord('a b')).toBe("'a b'");
});
