/**
 * The demo's process supervisor. Each demo process (the Point, each node) is a
 * child of this same CLI in its own process group. The supervisor reads the
 * line a child prints once it serves, and after that restarts it whenever it
 * dies unexpectedly: same flags, same data dir (so a node catches up from its
 * volume), after a back-off that doubles per crash, and gives up on a process
 * that crashed `maxCrashes` times within `windowMs` (the others keep
 * running). A process that dies before it ever served is a start-up failure,
 * left to the caller. `stopAll` stops every child gracefully (SIGTERM, SIGKILL
 * after a grace period) and waits for each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

export interface RestartPolicy {
  /** crashes within `windowMs` after which a process is not restarted again */
  maxCrashes: number;
  windowMs: number;
  /** back-off before the first restart; doubles per crash in the window, up to `maxDelayMs` */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEMO_RESTART_POLICY: RestartPolicy = { maxCrashes: 5, windowMs: 60_000, firstDelayMs: 1000, maxDelayMs: 8000 };

export interface ProcessSpec {
  /** how messages name it: "the Point", "node 2" */
  name: string;
  /** arguments to the CLI */
  args: string[];
  /** the stdout line it prints once it serves; its first group is what gets reported */
  listening: RegExp;
  /** polled after a restart until it answers 200: the process has rejoined */
  readyUrl?: string;
}

export interface SupervisorOptions {
  cli: string;
  env: NodeJS.ProcessEnv;
  policy: RestartPolicy;
  /** deaths, restarts and give-ups, on stderr */
  warn(line: string): void;
  /** every supervised process has given up: nothing is left running */
  onNothingLeft(): void;
  /** how long a stop waits before SIGKILL */
  stopGraceMs?: number;
}

/** Why a process exited, for messages: "SIGKILL" or "exit code 1". */
function reason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ?? `exit code ${code ?? '?'}`;
}

export class DemoProcess {
  child: ChildProcess | undefined;
  /** what the current incarnation said when it started serving, once it has */
  listening: string | undefined;
  state: 'starting' | 'running' | 'waiting to restart' | 'given up' | 'stopped' = 'starting';
  restarts = 0;
  private everServed = false;
  private crashes: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  private waiters: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];

  constructor(readonly spec: ProcessSpec, private readonly supervisor: Supervisor) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves with the listening line of the current incarnation; rejects if it exits first. */
  whenListening(): Promise<string> {
    if (this.listening !== undefined) return Promise.resolve(this.listening);
    if (this.child === undefined) return Promise.reject(new Error(`${this.spec.name} is not running`));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  spawn(): void {
    const { cli, env } = this.supervisor.options;
    // Own process group: a terminal's Ctrl-C reaches only the demo, which then stops each
    // child once, gracefully. Each child also exits if the demo itself disappears.
    const child = spawn(process.execPath, [cli, ...this.spec.args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true, env });
    this.child = child;
    this.listening = undefined;
    this.state = this.everServed ? 'running' : 'starting';
    this.exited = new Promise((done) => child.once('exit', () => done()));
    // stdout carries the listening line, then the child's JSON logs (warn and above), which the demo drops.
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (this.child !== child || this.listening !== undefined) return;
      const m = this.spec.listening.exec(line);
      if (m === null) return;
      this.listening = m[1] ?? line;
      const restarted = this.everServed;
      this.everServed = true;
      this.state = 'running';
      for (const w of this.waiters.splice(0)) w.resolve(this.listening);
      if (restarted) {
        this.supervisor.options.warn(`${this.spec.name} restarted (pid ${child.pid ?? '?'}), listening at ${this.listening}`);
        void this.reportRejoined(child);
      }
    });
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    const why = reason(code, signal);
    for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.spec.name} exited during start-up (${why})`));
    if (this.supervisor.stopping) {
      this.state = 'stopped';
      return;
    }
    if (!this.everServed) {
      this.state = 'stopped';
      this.supervisor.startFailed(this, why);
      return;
    }
    const { policy, warn } = this.supervisor.options;
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < policy.windowMs);
    this.crashes.push(now);
    if (this.crashes.length >= policy.maxCrashes) {
      this.state = 'given up';
      warn(`${this.spec.name} died (${why}), ${this.crashes.length} times within ${policy.windowMs / 1000} s; not restarting it again`);
      this.supervisor.gaveUp(this);
      return;
    }
    const wait = Math.min(policy.firstDelayMs * 2 ** (this.crashes.length - 1), policy.maxDelayMs);
    warn(`${this.spec.name} died (${why}); restarting it in ${wait / 1000} s`);
    this.state = 'waiting to restart';
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.supervisor.stopping) return;
      this.restarts++;
      this.spawn();
    }, wait);
  }

  /** After a restart: say when the process answers its ready URL again (bounded). */
  private async reportRejoined(child: ChildProcess): Promise<void> {
    const url = this.spec.readyUrl;
    if (url === undefined) return;
    const end = Date.now() + 60_000;
    let last = 'no answer';
    while (this.child === child && !this.supervisor.stopping) {
      const status = await fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => undefined);
      if (this.child !== child || this.supervisor.stopping) return;
      if (status === 200) {
        this.supervisor.options.warn(`${this.spec.name} rejoined the cluster`);
        return;
      }
      last = status === undefined ? 'no answer' : `status ${status}`;
      if (Date.now() > end) {
        this.supervisor.options.warn(`${this.spec.name} is running but not ready 60 s after its restart (${url}: ${last})`);
        return;
      }
      await delay(200);
    }
  }

  /** Cancels a pending restart; the child if it is still running. */
  private cancelRestart(): ChildProcess | undefined {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    return child === undefined || child.exitCode !== null || child.signalCode !== null ? undefined : child;
  }

  /** SIGTERM (after SIGCONT, in case it was stopped), SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs: number): Promise<void> {
    const child = this.cancelRestart();
    if (child === undefined) return;
    const exited = this.exited;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** SIGKILL now; resolves once it has exited. */
  async kill(): Promise<void> {
    const child = this.cancelRestart();
    if (child === undefined) return;
    const exited = this.exited;
    child.kill('SIGKILL');
    await exited;
  }
}

export class Supervisor {
  readonly processes: DemoProcess[] = [];
  stopping = false;
  private startFailure: ((p: DemoProcess, why: string) => void) | undefined;

  constructor(readonly options: SupervisorOptions) {}

  start(spec: ProcessSpec): DemoProcess {
    // Once a stop has begun, nothing new starts: stopAll waits only for what it saw.
    if (this.stopping) throw new Error(`not starting ${spec.name}: the demo is stopping`);
    const p = new DemoProcess(spec, this);
    this.processes.push(p);
    p.spawn();
    return p;
  }

  /** Called when a process exits before it ever served. */
  onStartFailure(handler: (p: DemoProcess, why: string) => void): void {
    this.startFailure = handler;
  }

  startFailed(p: DemoProcess, why: string): void {
    this.startFailure?.(p, why);
  }

  gaveUp(_p: DemoProcess): void {
    const left = this.processes.filter((q) => q.state !== 'given up' && q.state !== 'stopped');
    if (left.length === 0) {
      this.options.warn('no demo process is left running');
      this.options.onNothingLeft();
    } else {
      this.options.warn(`the other processes keep running (${left.map((q) => q.spec.name).join(', ')}); Ctrl-C stops them`);
    }
  }

  /** Stops every process gracefully and waits for each. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.processes.map((p) => p.stop(this.options.stopGraceMs ?? 15_000)));
  }

  /** Kills every process at once and waits for each. */
  async killAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.processes.map((p) => p.kill()));
  }
}
