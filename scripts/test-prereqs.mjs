#!/usr/bin/env node
/**
 * What the test suite needs from the machine, in one place.
 *
 * `npm test` runs this first (as `npm run test:setup`), and `.ci/run` runs
 * `npm test`, so a fresh machine and CI set up the same way. Anything
 * missing is installed from Debian's packages when this can (apt-get is
 * there, and we are root or have passwordless sudo); otherwise it prints one
 * line naming the command to run, and exits 1.
 *
 * test/helpers/prereqs.ts uses the same table, so a single test file run on
 * its own (`npx vitest run test/...`) whose prerequisite is missing fails at
 * once, in one line, before it starts anything.
 *
 * Knob: CHROMIUM_PATH, the browser the status-page test drives (default
 * /usr/bin/chromium, where Debian's `chromium` package puts it).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
const POSTGRES_ROOT = '/usr/lib/postgresql';

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, or undefined. */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The bin dir of the newest PostgreSQL in /usr/lib/postgresql (Debian's layout), or undefined. */
export function postgresBinDir() {
  let versions = [];
  try {
    versions = readdirSync(POSTGRES_ROOT);
  } catch {
    return undefined;
  }
  const found = versions.filter((v) => executable(join(POSTGRES_ROOT, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return found[0] === undefined ? undefined : join(POSTGRES_ROOT, found[0], 'bin');
}

/** CHROMIUM_PATH when set, else /usr/bin/chromium; undefined when that is not an executable file. */
export function chromiumPath() {
  const path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  return executable(path) ? path : undefined;
}

/**
 * Every prerequisite: `find` returns where it is (undefined when missing),
 * `where` says where it was looked for, `debianPackage` provides it.
 */
export const PREREQUISITES = Object.freeze([
  { name: 'redis-server', debianPackage: 'redis-server', where: 'redis-server on PATH', find: () => onPath('redis-server') },
  { name: 'postgresql', debianPackage: 'postgresql', where: `${POSTGRES_ROOT}/*/bin/postgres`, find: postgresBinDir },
  {
    name: 'chromium',
    debianPackage: 'chromium',
    where: process.env.CHROMIUM_PATH ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH}` : `${DEFAULT_CHROMIUM} (or set CHROMIUM_PATH)`,
    find: chromiumPath,
    // a CHROMIUM_PATH naming a missing file is not fixed by installing the package
    installable: () => !process.env.CHROMIUM_PATH,
  },
  { name: 'curl', debianPackage: 'curl', where: 'curl on PATH', find: () => onPath('curl') },
  { name: 'openssl', debianPackage: 'openssl', where: 'openssl on PATH', find: () => onPath('openssl') },
  { name: 'basenc', debianPackage: 'coreutils', where: 'basenc on PATH', find: () => onPath('basenc') },
  // kustomize and the client-side secret generator, offline (no cluster): Debian's kubectl 1.20 suffices
  { name: 'kubectl', debianPackage: 'kubernetes-client', where: 'kubectl on PATH', find: () => onPath('kubectl') },
]);

const isRoot = () => process.getuid?.() === 0;

/** The command that installs these Debian packages, as this user would type it. */
export function installCommand(packages) {
  return `${isRoot() ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`;
}

function prerequisite(name) {
  const p = PREREQUISITES.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no test prerequisite named ${name}`);
  return p;
}

/**
 * Where prerequisite `name` is; throws a one-line Error naming it, where it
 * was looked for and the command to install it, for `who` (a test).
 */
export function requirePrerequisite(name, who) {
  return requirePrerequisites([name], who)[0];
}

/** Where each of `names` is; throws one line naming every one missing, for `who` (a test). */
export function requirePrerequisites(names, who) {
  const wanted = names.map(prerequisite);
  const found = wanted.map((p) => p.find());
  const missing = wanted.filter((_, i) => found[i] === undefined);
  if (missing.length === 0) return found;
  const looked = missing.map((p) => `${p.name} (looked for ${p.where})`).join(', ');
  throw new Error(`${who} needs ${looked}: ${remedy(missing)}`);
}

/** What to do about missing prerequisites, in a few words. */
function remedy(missing) {
  const fixable = missing.filter((p) => p.installable?.() !== false);
  const steps = [];
  const command = installCommand([...new Set(fixable.map((p) => p.debianPackage))]);
  if (fixable.length > 0) steps.push(onPath('apt-get') === undefined ? `install them with this machine's package manager (on Debian: ${command})` : `run ${command}`);
  if (fixable.length < missing.length) steps.push('point CHROMIUM_PATH at an executable Chromium (or unset it to use the package)');
  return steps.join(', and ');
}

/** The one line printed when prerequisites are missing and this cannot install them. */
export function missingLine(missing) {
  return `gossip-cdn tests need ${missing.map((p) => p.name).join(', ')}: ${remedy(missing)}`;
}

function canInstall() {
  if (onPath('apt-get') === undefined) return false;
  return isRoot() || spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
}

function apt(args) {
  const command = isRoot() ? ['env', ...args] : ['sudo', '-n', 'env', ...args];
  const r = spawnSync(command[0], command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status === 0;
}

function main() {
  const missing = PREREQUISITES.filter((p) => p.find() === undefined);
  if (missing.length === 0) return 0;
  const installable = missing.filter((p) => p.installable?.() !== false);
  if (installable.length > 0 && canInstall()) {
    const packages = [...new Set(installable.map((p) => p.debianPackage))];
    console.log(`gossip-cdn tests need ${installable.map((p) => p.name).join(', ')}: installing ${packages.join(' ')} (Debian packages)`);
    const env = 'DEBIAN_FRONTEND=noninteractive';
    if (apt([env, 'apt-get', 'update', '-q'])) apt([env, 'apt-get', 'install', '-y', '-q', '--no-upgrade', ...packages]);
  }
  const still = PREREQUISITES.filter((p) => p.find() === undefined);
  if (still.length === 0) return 0;
  console.error(missingLine(still));
  return 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
