/**
 * The banlist schema, as numbered migrations run at start-up. Each runs in
 * one transaction that first takes a transaction-scoped advisory lock, so two
 * Points starting together apply each migration exactly once; applied
 * versions are recorded in `point_migrations`, so running again is a no-op.
 * The same statements run on PostgreSQL and on PGlite.
 */
import type { SqlExecutor } from './sql-executor.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/** advisory lock key (classid, objid) held while migrating */
export const MIGRATION_LOCK: readonly [number, number] = [0x6763646e, 1];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'banned addresses and the reports that ban them',
    statements: [
      `CREATE TABLE banned (
         id bigserial PRIMARY KEY,
         ip varchar(45) UNIQUE NOT NULL,
         created timestamptz NOT NULL DEFAULT now(),
         expires_at timestamptz NOT NULL
       )`,
      'CREATE INDEX banned_expires_at ON banned (expires_at)',
      `CREATE TABLE ban_reports (
         id bigserial PRIMARY KEY,
         reporter_id varchar(17) NOT NULL,
         reporter_ip varchar(45) NOT NULL,
         ip varchar(45) NOT NULL,
         reason varchar(500) NOT NULL,
         created timestamptz NOT NULL DEFAULT now(),
         reported_at timestamptz NOT NULL DEFAULT now(),
         UNIQUE (reporter_id, ip)
       )`,
      'CREATE INDEX ban_reports_ip_reported_at ON ban_reports (ip, reported_at)',
    ],
  },
];

/** Applies every migration not yet recorded; returns the versions it applied. */
export async function migrate(db: SqlExecutor, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK]);
    await tx.query(`CREATE TABLE IF NOT EXISTS point_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM point_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO point_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return applied;
  });
}
