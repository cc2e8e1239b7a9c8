/**
 * The chaos cluster's processes: the Point and the nodes, each a real
 * `node dist/cli.js ...` with its output appended to a log file in the run
 * dir. Every exit the runner did not cause (kill -9 as a fault, SIGTERM at
 * the end) is recorded as a crash "on its own", with the tail of its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { request } from 'undici';
import { PARENT_PID_ENV } from '../../src/cli-support.js';
import { waitFor } from './wait.js';
import { PRODUCT_CLI } from '../repo-root.js';

export const CLI_PATH = PRODUCT_CLI;

/** How much of a crashed process's log a report shows. */
const LOG_TAIL_BYTES = 4000;

export interface Crash {
  name: string;
  code: number | null;
  signal: string | null;
  atMs: number;
  logTail: string;
}

export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exitExpected = false;
  private exitPromise: Promise<void> = Promise.resolve();
  paused = false;

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly logFile: string,
    private readonly onCrash: (crash: Crash) => void,
    private readonly clock: () => number,
    /** added to the runner's environment */
    private readonly env: Readonly<Record<string, string>> = {},
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.running) return;
    const fd = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, [CLI_PATH, ...this.args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...this.env, [PARENT_PID_ENV]: String(process.pid) },
    });
    closeSync(fd);
    this.child = child;
    this.exitExpected = false;
    this.paused = false;
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.exitExpected) this.onCrash({ name: this.name, code, signal, atMs: this.clock(), logTail: this.logTail() });
        resolve();
      });
    });
  }

  logTail(): string {
    try {
      const text = readFileSync(this.logFile, 'utf8');
      return text.slice(-LOG_TAIL_BYTES);
    } catch {
      return '';
    }
  }

  /** kill -9, as a fault: not a crash. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.exitExpected = true;
    this.child?.kill('SIGKILL');
    await this.exitPromise;
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    if (!this.running) return;
    this.child?.kill(sig);
    this.paused = sig === 'SIGSTOP';
  }

  /** SIGCONT, then SIGTERM (graceful leave), then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.exitExpected = true;
    this.signal('SIGCONT');
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

/** Waits (bounded) until `url` answers 200; fails at once if the process died. */
export async function waitHealthy(proc: ManagedProcess, url: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => {
    if (!proc.running) throw new Error(`${proc.name} exited while starting:\n${proc.logTail()}`);
    const res = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 }).catch(() => undefined);
    await res?.body.dump();
    return res?.statusCode === 200;
  }, { what: `${proc.name} at ${url} to answer 200`, timeoutMs, intervalMs: 100 });
}
