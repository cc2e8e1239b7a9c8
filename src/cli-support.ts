/**
 * What every long-running subcommand shares: one-line errors instead of
 * stack traces (naming the flag the user typed when an option is refused),
 * and a graceful stop on SIGINT/SIGTERM (a second signal forces the exit).
 */
import { ConfigError } from './errors.js';

export function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const hint = code === 'EADDRINUSE' ? ' (the port is taken; pick another with --port)'
    : code === 'EACCES' ? ' (permission denied)' : '';
  process.stderr.write(`gossip-cdn: error: ${message.split('\n')[0] ?? message}${hint}\n`);
  process.exit(1);
}

/**
 * A refused option, told in the user's terms: `--quota (DISK_QUOTA): must be
 * a positive size ...` for `quotaBytes`. `flags` maps an option's path (or
 * the path of a list it is an element of) to the flag and its environment
 * twin. Anything else is returned as it is.
 */
export function flagError(err: unknown, flags: Readonly<Record<string, string>>): unknown {
  if (!(err instanceof ConfigError)) return err;
  const option = Object.keys(flags).find((key) => err.option === key || err.option.startsWith(`${key}.`));
  return option === undefined ? err : new Error(`${flags[option]}: ${err.rule}`);
}

export function onShutdownSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`gossip-cdn: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    stop().then(() => process.exit(0), (err: unknown) => fail(err));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Set by `gossip-cdn demo` on its children: the pid they should not outlive. */
export const PARENT_PID_ENV = 'GOSSIP_CDN_PARENT_PID';

/** When started by the demo, stop gracefully (SIGTERM to self) once the demo is gone. */
export function exitWithParent(): void {
  const pid = Number(process.env[PARENT_PID_ENV]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      process.kill(process.pid, 'SIGTERM');
    }
  }, 1000).unref();
}
