/**
 * The banlist seam: which addresses are banned, and the reports that ban
 * them. One implementation (`PostgresBanlist`) runs the same SQL and
 * migrations on a real PostgreSQL (pg Pool) and on the embedded PGlite,
 * through the `SqlExecutor` seam; one contract suite tests both.
 */

export interface BanReport {
  /** the registered node making the report */
  readonly reporterId: string;
  /** the address it reports from (seen on the socket); quorum counts distinct ones */
  readonly reporterIp: string;
  /** the address reported */
  readonly ip: string;
  readonly reason: string;
}

export interface BanOutcome {
  readonly ip: string;
  /** distinct reporter addresses inside the ban period, this one included */
  readonly reports: number;
  readonly quorum: number;
  /** whether the address is banned now (by this report or an earlier quorum) */
  readonly banned: boolean;
  /** when the ban lapses unless renewed; absent when not banned */
  readonly expiresAt?: Date;
}

export interface Banlist {
  /** Connects and runs migrations; a backend that is down is retried on first use. */
  start(): Promise<void>;
  stop(): Promise<void>;
  isBanned(ip: string): Promise<boolean>;
  /** Records a report; bans (or renews the ban of) the address once a quorum of distinct reporters agrees. */
  report(report: BanReport): Promise<BanOutcome>;
  /** Addresses banned now, oldest first, at most `limit`. */
  activeBans(limit: number): Promise<string[]>;
  /** Deletes lapsed bans and reports older than the ban period; returns rows deleted. */
  purge(): Promise<number>;
  /** Throws when the backend cannot be reached. */
  ping(): Promise<void>;
}

export interface BanPolicy {
  /** distinct reporter addresses needed to ban */
  readonly quorum: number;
  /** how long a ban lasts and how far back reports count */
  readonly durationMs: number;
}
