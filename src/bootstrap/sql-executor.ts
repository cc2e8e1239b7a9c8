/**
 * The one seam between the banlist's SQL and a database: a real PostgreSQL
 * through a bounded `pg` Pool, or the embedded PGlite persisted in a
 * directory. Both run the same statements with `$n` parameters. Failures that
 * mean "the database is not there" become POINT_ERR_POSTGRES_UNAVAILABLE;
 * anything else (a bug in our SQL) stays an internal error.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { CdnError } from '../errors.js';
import type { Logger } from '../log.js';
import { ensurePgliteDatabase } from './pglite-create.js';

export interface SqlClient {
  query<R extends object>(text: string, params?: unknown[]): Promise<R[]>;
}

export interface SqlExecutor extends SqlClient {
  readonly kind: 'postgres' | 'pglite';
  /** BEGIN; fn; COMMIT (ROLLBACK when fn throws). */
  transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQLSTATE classes that say the database is unreachable, overloaded or going away. */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', 'XX']);

export function postgresError(err: unknown): Error {
  if (err instanceof CdnError) return err;
  const code = (err as { code?: unknown }).code;
  const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  if (sqlstate !== undefined && !UNAVAILABLE_CLASSES.has(sqlstate.slice(0, 2))) {
    return err instanceof Error ? err : new Error(String(err));
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new CdnError('POINT_ERR_POSTGRES_UNAVAILABLE', `PostgreSQL is unavailable: ${reason}`, { cause: err });
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw postgresError(err);
  }
}

export interface PgExecutorOptions {
  url: string;
  poolSize: number;
  /** connect, query and statement timeout */
  timeoutMs: number;
  logger: Logger;
}

export function pgExecutor(options: PgExecutorOptions): SqlExecutor {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.timeoutMs,
    idleTimeoutMillis: 10_000,
    query_timeout: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    application_name: 'gossip-cdn-point',
  });
  // An idle client that loses its server is re-emitted here; without a listener the process would die.
  pool.on('error', (err) => options.logger.warn({ err: err.message }, 'postgres idle client error'));
  return {
    kind: 'postgres',
    query: <R extends object>(text: string, params?: unknown[]) => mapped(async () => (await pool.query<R>(text, params)).rows),
    transaction: <T>(fn: (client: SqlClient) => Promise<T>) => mapped(async () => {
      const conn = await pool.connect();
      let broken: Error | undefined;
      try {
        await conn.query('BEGIN');
        const result = await fn({ query: async <R extends object>(text: string, params?: unknown[]) => (await conn.query<R>(text, params)).rows });
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch((rollbackErr: Error) => { broken = rollbackErr; });
        throw err;
      } finally {
        // A client whose ROLLBACK failed is not reused.
        conn.release(broken);
      }
    }),
    close: () => pool.end(),
  };
}

/**
 * PGlite's buffer pool. initdb writes `shared_buffers = 128MB` into
 * postgresql.conf, and under WASM the whole pool is zeroed at start, so all of
 * it was resident: about 150 MiB of the idle Point (bench/point/rss.mjs). The
 * banlist is a few small tables; pages beyond the pool are read back from the
 * data dir (the OS page cache). Given on the command line, so it also applies
 * to data dirs created with the old setting.
 */
export const PGLITE_SHARED_BUFFERS = '4MB';

/** PGlite's own start-up parameters plus ours. */
export const PGLITE_START_PARAMS: readonly string[] = [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`];

/**
 * The embedded banlist database, persisted in `dir`. A missing one is created
 * first, by a child process (see pglite-create.ts): a few seconds.
 */
export async function pgliteExecutor(dir: string): Promise<SqlExecutor> {
  await ensurePgliteDatabase(dir, PGLITE_START_PARAMS);
  const db = await PGlite.create(dir, { startParams: [...PGLITE_START_PARAMS] });
  return {
    kind: 'pglite',
    query: <R extends object>(text: string, params?: unknown[]) => mapped(async () => (await db.query<R>(text, params)).rows),
    transaction: <T>(fn: (client: SqlClient) => Promise<T>) => mapped(() => db.transaction((tx) => fn({
      query: async <R extends object>(text: string, params?: unknown[]) => (await tx.query<R>(text, params)).rows,
    }))),
    close: () => db.close(),
  };
}
