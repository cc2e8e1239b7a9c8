/**
 * The banlist contract: the same SQL and migrations must behave the same on
 * a real PostgreSQL and on the embedded PGlite. Each test starts from an
 * empty schema (the backend's `reset` drops every table), so migrations run
 * fresh every time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { BanPolicy } from '../../../src/bootstrap/banlist.js';
import { migrate, MIGRATIONS } from '../../../src/bootstrap/migrations.js';
import { PostgresBanlist } from '../../../src/bootstrap/postgres-banlist.js';
import type { SqlExecutor } from '../../../src/bootstrap/sql-executor.js';
import { silentLogger } from '../../../src/log.js';
import { waitFor } from '../../helpers/wait.js';

export interface BanlistBackend {
  db: SqlExecutor;
  close(): Promise<void>;
}

const QUORUM_2: BanPolicy = { quorum: 2, durationMs: 7 * 24 * 3600 * 1000 };

export function banlistContract(name: string, open: () => Promise<BanlistBackend>): void {
  describe(`banlist contract: ${name}`, () => {
    let backend: BanlistBackend;
    const banlist = (policy: BanPolicy = QUORUM_2): PostgresBanlist => new PostgresBanlist(backend.db, policy, silentLogger());
    const report = (reporter: string, reporterIp: string, ip: string) => ({ reporterId: reporter, reporterIp, ip, reason: 'served corrupt data' });

    beforeAll(async () => { backend = await open(); });
    afterAll(async () => { await backend.close(); });
    beforeEach(async () => {
      await backend.db.query('DROP TABLE IF EXISTS banned, ban_reports, point_migrations');
    });

    test('migrations create the banned table as SPEC §3.3 gives it, and run again as a no-op', async () => {
      expect(await migrate(backend.db)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(backend.db)).toEqual([]);
      const columns = await backend.db.query<{ column_name: string; data_type: string; is_nullable: string; character_maximum_length: number | null; column_default: string | null }>(
        `SELECT column_name, data_type, is_nullable, character_maximum_length, column_default
         FROM information_schema.columns WHERE table_name = 'banned' ORDER BY ordinal_position`,
      );
      const byName = Object.fromEntries(columns.map((c) => [c.column_name, c]));
      expect(byName.id).toMatchObject({ data_type: 'bigint', is_nullable: 'NO' });
      expect(byName.id?.column_default).toContain('nextval');
      expect(byName.ip).toMatchObject({ data_type: 'character varying', character_maximum_length: 45, is_nullable: 'NO' });
      expect(byName.created).toMatchObject({ data_type: 'timestamp with time zone', is_nullable: 'NO', column_default: 'now()' });
      const unique = await backend.db.query(
        `SELECT 1 FROM information_schema.table_constraints tc
         JOIN information_schema.constraint_column_usage cu USING (constraint_name)
         WHERE tc.table_name = 'banned' AND tc.constraint_type = 'UNIQUE' AND cu.column_name = 'ip'`,
      );
      expect(unique).toHaveLength(1);
    });

    test('concurrent start-ups apply each migration exactly once', async () => {
      const results = await Promise.all([migrate(backend.db), migrate(backend.db), migrate(backend.db)]);
      expect(results.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
      const rows = await backend.db.query<{ n: number }>('SELECT count(*)::int AS n FROM point_migrations');
      expect(rows[0]?.n).toBe(MIGRATIONS.length);
    });

    test('one rogue reporting many times is not enough to ban', async () => {
      const list = banlist();
      for (let i = 0; i < 10; i++) {
        expect(await list.report(report('nrogue0000000001', '10.0.0.66', '10.0.0.5'))).toMatchObject({ reports: 1, quorum: 2, banned: false });
      }
      expect(await list.isBanned('10.0.0.5')).toBe(false);
      expect(await list.activeBans(10)).toEqual([]);
    });

    test('many identities from one address still count as one reporter', async () => {
      const list = banlist();
      for (let i = 0; i < 5; i++) await list.report(report(`nrogue000000000${i}`, '10.0.0.66', '10.0.0.5'));
      expect(await list.isBanned('10.0.0.5')).toBe(false);
    });

    test('two distinct reporters ban the address', async () => {
      const list = banlist();
      expect((await list.report(report('na000000000000001', '10.0.0.1', '10.0.0.5'))).banned).toBe(false);
      const outcome = await list.report(report('nb000000000000002', '10.0.0.2', '10.0.0.5'));
      expect(outcome).toMatchObject({ ip: '10.0.0.5', reports: 2, quorum: 2, banned: true });
      expect(outcome.expiresAt!.getTime()).toBeGreaterThan(Date.now() + QUORUM_2.durationMs - 60_000);
      expect(await list.isBanned('10.0.0.5')).toBe(true);
      expect(await list.isBanned('10.0.0.6')).toBe(false);
      expect(await list.activeBans(10)).toEqual(['10.0.0.5']);
      const rows = await backend.db.query<{ ip: string }>('SELECT ip FROM banned');
      expect(rows).toEqual([{ ip: '10.0.0.5' }]);
    });

    test('reports arriving together still reach the quorum', async () => {
      const list = banlist();
      const ips = Array.from({ length: 8 }, (_, i) => `10.1.0.${i + 1}`);
      await Promise.all(ips.flatMap((ip) => [
        list.report(report('na000000000000001', '10.0.0.1', ip)),
        list.report(report('nb000000000000002', '10.0.0.2', ip)),
      ]));
      for (const ip of ips) expect(await list.isBanned(ip)).toBe(true);
    });

    test('a quorum of one bans at once; IPv6 addresses are stored as given', async () => {
      const list = banlist({ quorum: 1, durationMs: 60_000 });
      expect((await list.report(report('na000000000000001', '10.0.0.1', '2001:db8::7'))).banned).toBe(true);
      expect(await list.isBanned('2001:db8::7')).toBe(true);
    });

    test('a ban lapses after its period and purge deletes it; a new quorum bans again', async () => {
      const list = banlist({ quorum: 2, durationMs: 400 });
      await list.report(report('na000000000000001', '10.0.0.1', '10.0.0.5'));
      expect((await list.report(report('nb000000000000002', '10.0.0.2', '10.0.0.5'))).banned).toBe(true);
      await waitFor(async () => !(await list.isBanned('10.0.0.5')), { what: 'the ban to lapse', timeoutMs: 10_000 });
      expect(await list.purge()).toBeGreaterThanOrEqual(1);
      expect(await backend.db.query('SELECT 1 FROM banned')).toEqual([]);
      // the old reports lapsed with the ban: one new report is not a quorum
      expect((await list.report(report('na000000000000001', '10.0.0.1', '10.0.0.5'))).banned).toBe(false);
      expect((await list.report(report('nb000000000000002', '10.0.0.2', '10.0.0.5'))).banned).toBe(true);
    });

    test('new reports from a quorum renew a ban', async () => {
      const list = banlist({ quorum: 2, durationMs: 60_000 });
      await list.report(report('na000000000000001', '10.0.0.1', '10.0.0.5'));
      const first = await list.report(report('nb000000000000002', '10.0.0.2', '10.0.0.5'));
      await waitFor(async () => {
        const renewed = await list.report(report('na000000000000001', '10.0.0.1', '10.0.0.5'));
        return renewed.expiresAt!.getTime() > first.expiresAt!.getTime();
      }, { what: 'a later report to push expiresAt', timeoutMs: 5000 });
    });
  });
}
