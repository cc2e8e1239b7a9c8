/**
 * The repository's root: the nearest folder above this file that holds a
 * package.json. Tools run both from their TypeScript sources (vitest) and from
 * their compiled copies in dist-tools/, so paths to the product's build
 * (dist/cli.js) are taken from here rather than from this file's depth.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** The product's CLI as built by `npm run build`. */
export const PRODUCT_CLI = join(REPO_ROOT, 'dist', 'cli.js');
