/**
 * The banlist on PostgreSQL (or PGlite, through the same `SqlExecutor`).
 *
 * A report upserts one row per (reporter, address), so a rogue repeating
 * itself only refreshes its own row. Reports for one address are serialised
 * by a transaction-scoped advisory lock on the address, so two reporters
 * arriving together cannot each miss the other and both fail to reach the
 * quorum. The quorum counts distinct reporter *addresses* within the ban
 * period: many identities minted on one machine still count once. Reaching
 * it bans the address until now + period; a later quorum renews it.
 */
import type { Logger } from '../log.js';
import type { BanOutcome, BanPolicy, BanReport, Banlist } from './banlist.js';
import { migrate } from './migrations.js';
import type { SqlExecutor } from './sql-executor.js';

/** advisory lock class for per-address report serialisation (objid = hashtext(ip)) */
const REPORT_LOCK_CLASS = 0x6763646e + 2;
const MS = `$2::double precision * interval '1 millisecond'`;

export class PostgresBanlist implements Banlist {
  private migrated: Promise<void> | undefined;

  constructor(
    private readonly db: SqlExecutor,
    private readonly policy: BanPolicy,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    try {
      await this.ready();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'postgres not ready at start; serving 503 until it is');
    }
  }

  async stop(): Promise<void> {
    await this.db.close();
  }

  async isBanned(ip: string): Promise<boolean> {
    await this.ready();
    const rows = await this.db.query('SELECT 1 FROM banned WHERE ip = $1 AND expires_at > now()', [ip]);
    return rows.length > 0;
  }

  async report(report: BanReport): Promise<BanOutcome> {
    await this.ready();
    const { quorum, durationMs } = this.policy;
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [REPORT_LOCK_CLASS, report.ip]);
      await tx.query(
        `INSERT INTO ban_reports (reporter_id, reporter_ip, ip, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (reporter_id, ip) DO UPDATE
           SET reporter_ip = EXCLUDED.reporter_ip, reason = EXCLUDED.reason, reported_at = now()`,
        [report.reporterId, report.reporterIp, report.ip, report.reason],
      );
      const [count] = await tx.query<{ n: number }>(
        `SELECT count(DISTINCT reporter_ip)::int AS n FROM ban_reports
         WHERE ip = $1 AND reported_at > now() - ${MS}`,
        [report.ip, durationMs],
      );
      const reports = count?.n ?? 0;
      const [ban] = reports >= quorum
        ? await tx.query<{ expires_at: Date }>(
          `INSERT INTO banned (ip, expires_at) VALUES ($1, now() + ${MS})
           ON CONFLICT (ip) DO UPDATE SET
             expires_at = EXCLUDED.expires_at,
             created = CASE WHEN banned.expires_at <= now() THEN now() ELSE banned.created END
           RETURNING expires_at`,
          [report.ip, durationMs],
        )
        : await tx.query<{ expires_at: Date }>('SELECT expires_at FROM banned WHERE ip = $1 AND expires_at > now()', [report.ip]);
      const outcome: BanOutcome = { ip: report.ip, reports, quorum, banned: ban !== undefined };
      return ban === undefined ? outcome : { ...outcome, expiresAt: new Date(ban.expires_at) };
    });
  }

  async activeBans(limit: number): Promise<string[]> {
    await this.ready();
    const rows = await this.db.query<{ ip: string }>('SELECT ip FROM banned WHERE expires_at > now() ORDER BY id LIMIT $1', [limit]);
    return rows.map((r) => r.ip);
  }

  async purge(): Promise<number> {
    await this.ready();
    const [bans] = await this.db.query<{ n: number }>('WITH d AS (DELETE FROM banned WHERE expires_at <= now() RETURNING 1) SELECT count(*)::int AS n FROM d');
    const [reports] = await this.db.query<{ n: number }>(
      `WITH d AS (DELETE FROM ban_reports WHERE reported_at <= now() - $1::double precision * interval '1 millisecond' RETURNING 1)
       SELECT count(*)::int AS n FROM d`,
      [this.policy.durationMs],
    );
    return (bans?.n ?? 0) + (reports?.n ?? 0);
  }

  async ping(): Promise<void> {
    await this.ready();
    await this.db.query('SELECT 1');
  }

  /** Runs migrations once; a failure (database down) is retried by the next call. */
  private ready(): Promise<void> {
    this.migrated ??= migrate(this.db).then((applied) => {
      if (applied.length > 0) this.logger.info({ applied, backend: this.db.kind }, 'banlist migrations applied');
    }).catch((err: unknown) => {
      this.migrated = undefined;
      throw err;
    });
    return this.migrated;
  }
}
