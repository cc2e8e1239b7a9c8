/** Runs the banlist contract on real PostgreSQL (pg Pool) and on the embedded PGlite. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { pgExecutor, pgliteExecutor } from '../../../src/bootstrap/sql-executor.js';
import { silentLogger } from '../../../src/log.js';
import { freshDatabase, postgresForTests, type Service } from '../../helpers/services.js';
import { banlistContract } from './banlist-contract.js';

let postgres: Service;
beforeAll(async () => { postgres = await postgresForTests(); });
afterAll(async () => { await postgres.close(); });

banlistContract('postgres', async () => {
  const database = await freshDatabase(postgres.url);
  const db = pgExecutor({ url: database.url, poolSize: 5, timeoutMs: 5000, logger: silentLogger() });
  return { db, close: async () => { await db.close(); await database.drop(); } };
});

banlistContract('pglite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gcdn-pglite-'));
  const db = await pgliteExecutor(dir);
  return { db, close: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
});
