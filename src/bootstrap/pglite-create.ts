/**
 * Creating the embedded banlist's database in a short-lived child process.
 *
 * PGlite creates a missing database by running initdb inside a second,
 * temporary PGlite: a WASM heap of its own (at least 128 MiB, rewritten for
 * each of initdb's postgres runs), a copy of that heap, and the new data dir
 * held in memory, then as a tarball copied into the real one. Done in the
 * Point's process, that left hundreds of MiB resident after start: the
 * temporary instance lives until a major GC, which an idle process may not
 * run for a long while, and glibc keeps most of what is freed. So a child
 * process runs the same PGlite (same package, same start parameters) to
 * create the database and exits, handing all of that back to the OS; the
 * Point only opens the finished database.
 *
 * The child builds it in a sibling directory that is renamed into place once
 * complete, so a first start cut short leaves no half-made database behind.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';

/** initdb takes a few seconds, much longer on a loaded machine; beyond this the child is killed. */
export const PGLITE_CREATE_TIMEOUT_MS = 120_000;

/** What the child runs: argv[1] is JSON {url, dir, startParams}. PostgreSQL's own messages go to stderr. */
const CHILD_SCRIPT = `
const { url, dir, startParams } = JSON.parse(process.argv[1]);
try {
  const { PGlite } = await import(url);
  const db = await PGlite.create(dir, { startParams });
  await db.close();
} catch (err) {
  process.stderr.write(String(err instanceof Error ? err.message : err) + '\\n');
  process.exit(1);
}
`;

/** Output of the child kept for the error message. */
const MAX_OUTPUT = 4000;

/** True when `dir` holds a PGlite (PostgreSQL) data directory. */
export function hasPgliteDatabase(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}

/**
 * Makes sure `dir` holds a PGlite database, creating it in a child process
 * when it does not. Throws (with the child's output) when creation fails.
 */
export async function ensurePgliteDatabase(dir: string, startParams: readonly string[], timeoutMs = PGLITE_CREATE_TIMEOUT_MS): Promise<void> {
  if (hasPgliteDatabase(dir)) return;
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  if (entries.length > 0) {
    // Files but no database: PGlite creates it over them, as it did in-process.
    await createInChild(dir, startParams, timeoutMs);
    return;
  }
  const scratch = `${dir}.initdb`;
  // left behind by an interrupted first start
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await createInChild(scratch, startParams, timeoutMs);
    await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(scratch, dir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function createInChild(dir: string, startParams: readonly string[], timeoutMs: number): Promise<void> {
  const job = JSON.stringify({ url: import.meta.resolve('@electric-sql/pglite'), dir, startParams });
  return new Promise((resolve, reject) => {
    // --liftoff-only: see keepWasmOnBaselineCompiler in command.ts; here it also makes initdb ~40% faster
    const child = spawn(process.execPath, ['--liftoff-only', '--input-type=module', '-e', CHILD_SCRIPT, '--', job], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-MAX_OUTPUT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start a process to create the PGlite database in ${dir}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
        return;
      }
      const how = timedOut ? `no result after ${timeoutMs} ms` : signal !== null ? `killed by ${signal}` : `exit ${code}`;
      reject(new Error(`PGlite could not create its database in ${dir} (${how})${output.trim() === '' ? '' : `: ${output.trim()}`}`));
    });
  });
}
