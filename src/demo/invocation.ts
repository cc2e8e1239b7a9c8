/**
 * How the demo's printed client examples should invoke this CLI so that they
 * run as printed, from the directory the demo was started in: `gossip-cdn` if
 * that name on PATH is this very CLI (npm link, a global install of this
 * checkout), otherwise `node <path of dist/cli.js>`, relative to the working
 * directory when the CLI is under it, absolute when it is not.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative, sep } from 'node:path';

/** The file a shell would run for `name`: the first executable regular file on PATH, symlinks resolved. */
export function whichOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue; // a relative PATH entry depends on where the user runs it
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (!statSync(candidate).isFile()) continue;
      return realpathSync(candidate);
    } catch {
      // not here
    }
  }
  return undefined;
}

function realpathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** Quotes a word for a POSIX shell, only when it needs it. */
export function shellWord(word: string): string {
  return /^[\w./,:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface InvocationContext {
  /** the CLI's entry point (dist/cli.js) */
  cli: string;
  /** the Node binary running the demo */
  execPath: string;
  cwd: string;
  path: string | undefined;
}

/** The words that start this CLI from `cwd`: `gossip-cdn`, or `node dist/cli.js`, or absolute paths. */
export function cliInvocation(context: InvocationContext): string {
  const cli = realpathOr(context.cli);
  if (whichOnPath('gossip-cdn', context.path) === cli) return 'gossip-cdn';
  const node = whichOnPath('node', context.path) === realpathOr(context.execPath) ? 'node' : shellWord(context.execPath);
  const rel = relative(context.cwd, context.cli);
  const inside = rel !== '' && !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
  return `${node} ${shellWord(inside ? rel : context.cli)}`;
}
