/**
 * The embedded banlist's database: created by a child process into a scratch
 * directory renamed into place, then opened with the Point's own start
 * parameters (a small buffer pool); what was written survives a reopen.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ensurePgliteDatabase, hasPgliteDatabase } from '../../../src/bootstrap/pglite-create.js';
import { PGLITE_SHARED_BUFFERS, PGLITE_START_PARAMS, pgliteExecutor } from '../../../src/bootstrap/sql-executor.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function scratchRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'gcdn-pglite-create-'));
  roots.push(root);
  return root;
}

test('a missing database is created (over the leftovers of an interrupted start), opened with a small buffer pool, and keeps its rows', async () => {
  const root = scratchRoot();
  const dir = join(root, 'point', 'banlist');
  // what a first start killed during creation leaves: a half-filled scratch dir
  mkdirSync(`${dir}.initdb`, { recursive: true });
  writeFileSync(join(`${dir}.initdb`, 'PG_VERSION'), '18\n');

  const db = await pgliteExecutor(dir);
  expect(hasPgliteDatabase(dir)).toBe(true);
  expect(readdirSync(join(root, 'point'))).toEqual(['banlist']);
  const [setting] = await db.query<{ shared_buffers: string }>('SHOW shared_buffers');
  expect(setting?.shared_buffers).toBe(PGLITE_SHARED_BUFFERS);
  await db.query('CREATE TABLE kept (v text)');
  await db.query('INSERT INTO kept VALUES ($1)', ['still here']);
  await db.close();

  const again = await pgliteExecutor(dir);
  expect(await again.query('SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
  await again.close();
});

test('a failed creation says why and leaves no database and no scratch dir', async () => {
  const root = scratchRoot();
  const dir = join(root, 'banlist');
  mkdirSync(dir);
  const badParams = [...PGLITE_START_PARAMS, '-c', 'shared_buffers=lots'];
  await expect(ensurePgliteDatabase(dir, badParams)).rejects.toThrow(/PGlite could not create its database in .*banlist\.initdb \(exit 1\): PGlite failed to initialize/);
  expect(existsSync(`${dir}.initdb`)).toBe(false);
  expect(hasPgliteDatabase(dir)).toBe(false);

  await expect(ensurePgliteDatabase(dir, PGLITE_START_PARAMS, 1)).rejects.toThrow(/no result after 1 ms/);
  expect(existsSync(`${dir}.initdb`)).toBe(false);
  expect(hasPgliteDatabase(dir)).toBe(false);
});
