/**
 * What `npm pack` ships: the product (dist/ as built from src/), the README
 * and package.json; never the simulator, the chaos harness, test doubles or
 * tests, which live in tools/ and test/ and build to dist-tools/. Runs npm's
 * own file selection (`npm pack --dry-run`, scripts off so the build in use
 * is not rebuilt under the other tests).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the shipped package', () => {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as { files: { path: string }[] }[];
  const files = (packed[0]?.files ?? []).map((f) => f.path);
  const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { bin: Record<string, string>; main?: string };

  it('holds the built product', () => {
    expect(files).toContain('dist/cli.js');
    expect(files).toContain('dist/gossip/core/membership.js');
    expect(files).toContain('dist/gossip/shell/runtime.js');
  });

  it('holds none of the tools, test doubles or tests', () => {
    const tooling = files.filter((f) => /(^|\/)(tools|test|sim|chaos|dist-tools)\/|memory-version-store/.test(f));
    expect(tooling).toEqual([]);
  });

  it('names only entry points it holds', () => {
    for (const target of Object.values(pkg.bin)) expect(files).toContain(target);
    if (pkg.main !== undefined) expect(files).toContain(pkg.main);
  });
});
