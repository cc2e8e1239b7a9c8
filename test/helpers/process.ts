/**
 * Starts real `gossip-cdn` processes (node dist/cli.js ...) for integration
 * tests, captures their output, and stops them: SIGTERM, SIGKILL, SIGSTOP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requireBuild } from './prereqs.js';
import { waitFor } from './wait.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

// Every test that starts the CLI imports this module: without a build, it fails here, in one line.
requireBuild();

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** everything written to stdout and stderr so far */
  output(): string;
  /** resolves with the exit code (or signal name) once the process has exited */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs` */
  stop(graceMs?: number): Promise<number | string>;
  kill9(): Promise<number | string>;
}

const running = new Set<CliProcess>();

export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { LOG_LEVEL: 'warn', ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const proc: CliProcess = {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    hasExited: () => done,
    async stop(graceMs = 10_000) {
      if (done) return exited;
      try { process.kill(proc.pid, 'SIGCONT'); } catch { /* already gone */ }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      running.delete(proc);
      return code;
    },
    async kill9() {
      if (!done) child.kill('SIGKILL');
      const code = await exited;
      running.delete(proc);
      return code;
    },
  };
  running.add(proc);
  return proc;
}

/** Runs a CLI command to completion and returns its exit code and output. */
export async function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { LOG_LEVEL: 'warn', ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const code = await new Promise<number | string>((resolve) => child.on('exit', (c, s) => resolve(c ?? s ?? 'unknown')));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Waits until `url` answers 200 (or the process dies, which fails at once with its output). */
export async function waitHealthy(proc: CliProcess, url: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => {
    if (proc.hasExited()) throw new Error(`process exited early:\n${proc.output()}`);
    const res = await fetch(url).catch(() => undefined);
    return res?.status === 200;
  }, { what: `${url} to answer 200`, timeoutMs });
}

/** Kills whatever a test file left running (call from afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill9()));
}
