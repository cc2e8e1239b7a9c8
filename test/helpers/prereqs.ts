/**
 * A test's prerequisites, checked before it starts anything: each check
 * throws a one-line Error naming what is missing and the command that
 * installs it. The table (Debian packages, where each is looked for, the
 * CHROMIUM_PATH knob) is scripts/test-prereqs.mjs, which `npm test` runs
 * first to install whatever it can.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { requirePrerequisite, requirePrerequisites } from '../../scripts/test-prereqs.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The test file running now, relative to the repo (for the one-line errors). */
export function thisTest(): string {
  const path = expect.getState().testPath;
  return path === undefined ? 'this test' : relative(ROOT, path);
}

/** The Chromium to drive (CHROMIUM_PATH, default /usr/bin/chromium). */
export function requireChromium(who = thisTest()): string {
  return requirePrerequisite('chromium', who);
}

export function requireRedisServer(who = thisTest()): void {
  requirePrerequisite('redis-server', who);
}

/** The PostgreSQL bin dir (/usr/lib/postgresql/<newest>/bin). */
export function requirePostgres(who = thisTest()): string {
  return requirePrerequisite('postgresql', who);
}

/** The binaries of private Redis and PostgreSQL instances, both named in one line when missing. */
export function requireServiceBinaries(services: readonly ('redis-server' | 'postgresql')[] = ['redis-server', 'postgresql'], who = thisTest()): void {
  requirePrerequisites(services, who);
}

/** Command-line tools a test runs (curl, openssl, basenc, kubectl). */
export function requireTools(tools: readonly ('curl' | 'openssl' | 'basenc' | 'kubectl')[], who = thisTest()): void {
  requirePrerequisites(tools, who);
}

const BUILT = ['dist/cli.js', 'dist-tools/tools/chaos/cli.js'];

/** The build the tests run (`node dist/cli.js`, the chaos runner in dist-tools/). */
export function requireBuild(who = thisTest()): void {
  for (const file of BUILT) {
    if (!existsSync(join(ROOT, file))) {
      throw new Error(`${who} needs ${file}, which is not built: run npm run build (npm test builds first)`);
    }
  }
}
