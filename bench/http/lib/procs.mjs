/**
 * Every process and temp dir the benchmark makes is registered here, so it
 * can be stopped and removed on a normal end, on an error and on Ctrl-C.
 * Only loopback addresses are ever used.
 */
import { spawn, execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

export const HOST = '127.0.0.1';

const children = new Set();
const tempDirs = new Set();

/** Keeps the last `max` characters a child printed, for error messages. */
function tail(max = 8192) {
  let text = '';
  return {
    push(chunk) {
      text += chunk.toString();
      if (text.length > max) text = text.slice(text.length - max);
    },
    get text() { return text; },
  };
}

/**
 * Spawns a child that is killed at cleanup. `group: true` puts it in its own
 * process group (nginx: the master and its workers die together).
 */
export function spawnTracked(name, cmd, args, { group = false, env, onStdout } = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: group, env: env ?? process.env });
  const out = tail();
  child.benchName = name;
  child.benchGroup = group;
  child.output = out;
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('error', (err) => out.push(`\n[spawn error] ${err.message}\n`));
  child.stdout.on('data', (d) => { out.push(d); onStdout?.(d.toString()); });
  child.stderr.on('data', (d) => out.push(d));
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

function signalChild(child, signal) {
  try {
    if (child.benchGroup && child.pid !== undefined) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // already gone
  }
}

/** SIGTERM (or `signal`), then SIGKILL after `graceMs`. Resolves once it has exited. */
export async function stopChild(child, { signal = 'SIGTERM', graceMs = 5000 } = {}) {
  if (child.exitCode !== null || child.signalCode !== null) {
    if (child.benchGroup) signalChild(child, 'SIGKILL'); // stray workers of a dead master
    return child.exited;
  }
  signalChild(child, signal);
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => { signalChild(child, 'SIGKILL'); resolve(); }, graceMs);
  });
  await Promise.race([child.exited, killed]);
  clearTimeout(timer);
  const result = await child.exited;
  if (child.benchGroup) signalChild(child, 'SIGKILL');
  return result;
}

export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

let cleaning;
/** Stops every child still running and removes every temp dir. Idempotent. */
export function cleanupAll() {
  cleaning ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c, { graceMs: 3000 })));
    for (const dir of [...tempDirs]) {
      try { removeTempDir(dir); } catch { /* best effort */ }
    }
  })();
  return cleaning;
}

/** Last resort on process exit: synchronous SIGKILL and rm. */
function cleanupSync() {
  for (const child of children) signalChild(child, 'SIGKILL');
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
}

export function installCleanupHandlers(log = (m) => process.stderr.write(`${m}\n`)) {
  let signalled = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (signalled) { cleanupSync(); process.exit(130); }
      signalled = true;
      log(`\n${sig}: stopping every process the benchmark started and removing its temp dirs...`);
      const force = setTimeout(() => { cleanupSync(); process.exit(130); }, 8000);
      void cleanupAll().finally(() => { clearTimeout(force); process.exit(130); });
    });
  }
  process.on('exit', cleanupSync);
}

/** A free loopback TCP port (asked of the kernel, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (truthy = done) at most `attempts` times, `intervalMs` apart. */
export async function waitFor(what, check, { attempts = 100, intervalMs = 100 } = {}) {
  let last;
  for (let i = 0; i < attempts; i++) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (${last.message})` : ''}`);
}

/** Flushes dirty pages so one scenario's writeback does not land in the next one's numbers. */
export function syncDisks() {
  try { execFileSync('sync', [], { timeout: 60_000, stdio: 'ignore' }); } catch { /* not fatal */ }
}

/** Whether an executable is on PATH (or at an absolute path). */
export function which(cmd) {
  if (cmd.startsWith('/')) {
    try { accessSync(cmd, constants.X_OK); return cmd; } catch { return undefined; }
  }
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8', timeout: 5000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}

let clockTicks;
/** CPU seconds (user + system, all threads) used so far by `pid` and its child processes (nginx workers). */
export function cpuSeconds(pid) {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/** { user, sys } CPU seconds used so far by `pid` and its child processes. */
export function cpuTimes(pid) {
  clockTicks ??= (() => {
    try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100; } catch { return 100; }
  })();
  let user = 0;
  let sys = 0;
  let entries = [];
  try { entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e)); } catch { return { user: NaN, sys: NaN }; }
  for (const e of entries) {
    let stat;
    try { stat = readFileSync(`/proc/${e}/stat`, 'utf8'); } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state ppid ... utime is field 14, stime 15 (1-based over the whole line)
    const ppid = Number(f[1]);
    if (Number(e) === pid || ppid === pid) { user += Number(f[11]); sys += Number(f[12]); }
  }
  return { user: user / clockTicks, sys: sys / clockTicks };
}
