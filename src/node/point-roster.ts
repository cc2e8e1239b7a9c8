/**
 * Which Point a node talks to, when it has several (`--bootstrap A,B`): the
 * Points it knows (its configured list first, in order, then the ones the
 * current Point named in `/points`), the one it is registered with or trying
 * now, and the fail-over decisions. Pure: no I/O, clock or randomness; the
 * Point link (point-link.ts) makes the calls, sleeps and logs.
 *
 * - Registering: the node tries the Points in order, the next one at once when
 *   one fails; when every known Point has failed once in a row (a round), it
 *   waits (the link's backoff) and starts again from the first configured one.
 * - Registered: heartbeats go to that Point only. After `failoverAfter`
 *   heartbeats in a row that failed (no connection, a timeout, or an error
 *   answer other than 401), the node moves to the next known Point and
 *   registers there (the Point it left counts as tried in that round). With a
 *   single known Point it stays and keeps retrying, as it always did.
 * - A node does not move back when its old Point returns: it stays where it
 *   is registered until that Point fails in turn.
 */

/** Most Points a node knows at once: its `--bootstrap` list, and with the ones learned from `/points`. */
export const MAX_POINTS = 16;

/**
 * A Point's URL as the node compares and shows it: origin and path, without
 * a trailing slash (`http://p:8080/` and `http://p:8080` are one Point).
 * Undefined for anything that is not an http(s) URL without query or fragment.
 */
export function canonicalPointUrl(text: string): string | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Why a `--bootstrap` list is refused, or its Points, canonical and in order. */
export function parsePointList(value: string | readonly string[]): { urls: string[] } | { error: string } {
  const items = (typeof value === 'string' ? value.split(',') : [...value]).map((s) => s.trim());
  if (items.every((s) => s === '')) return { error: 'must name at least one Point (an http(s) URL, or several separated by commas)' };
  if (items.length > MAX_POINTS) return { error: `must name at most ${MAX_POINTS} Points (it names ${items.length})` };
  const urls: string[] = [];
  for (const [i, item] of items.entries()) {
    if (item === '') return { error: `item ${i + 1} is empty (a stray comma?)` };
    const url = canonicalPointUrl(item);
    if (url === undefined) return { error: `item ${i + 1} (${item.slice(0, 200)}) must be an http(s) URL without query or fragment` };
    if (urls.includes(url)) return { error: `item ${i + 1} (${item.slice(0, 200)}) names the same Point as an earlier one` };
    urls.push(url);
  }
  return { urls };
}

export interface RosterOptions {
  /** heartbeats in a row that fail before the node moves to another Point */
  readonly failoverAfter: number;
  /** most Points known at once (configured and learned) */
  readonly maxPoints?: number;
}

export type HeartbeatVerdict = 'retry' | 'move';

export class PointRoster {
  private readonly configured: readonly string[];
  private learned: string[] = [];
  private at: string;
  /** Points that failed to register in a row, in this round */
  private failedInRound = 0;
  private heartbeatFailures = 0;
  private readonly max: number;
  /** times the node moved away from a Point that stopped answering its heartbeats */
  failovers = 0;

  /** `configured`: canonical URLs (parsePointList), at least one. */
  constructor(configured: readonly string[], private readonly options: RosterOptions) {
    const first = configured[0];
    if (first === undefined) throw new Error('a node needs at least one Point');
    this.max = Math.max(configured.length, options.maxPoints ?? MAX_POINTS);
    this.configured = [...configured];
    this.at = first;
  }

  /** The Point the node is registered with, or trying now. */
  get current(): string {
    return this.at;
  }

  /** Every known Point: the configured ones in order, then the learned ones. */
  known(): string[] {
    return [...this.configured, ...this.learned];
  }

  /**
   * What the current Point's `/points` answered: the learned Points become
   * those (deduplicated, http(s) only, bounded by maxPoints), plus the
   * current Point itself when it is a learned one. Configured Points always
   * stay. Returns whether the known list changed.
   */
  learn(urls: readonly string[]): boolean {
    const next: string[] = [];
    const add = (text: string): void => {
      const url = canonicalPointUrl(text);
      if (url === undefined || this.configured.includes(url) || next.includes(url)) return;
      if (this.configured.length + next.length >= this.max) return;
      next.push(url);
    };
    add(this.at);
    for (const url of urls) add(url);
    const changed = next.length !== this.learned.length || next.some((u, i) => u !== this.learned[i]);
    this.learned = next;
    return changed;
  }

  /** Registered with the current Point. */
  registered(): void {
    this.failedInRound = 0;
    this.heartbeatFailures = 0;
  }

  /**
   * Registration with the current Point failed: the next Point to try, and
   * whether to wait first (every known Point failed once in this round; the
   * next round starts again from the first configured one).
   */
  registrationFailed(): { next: string; wait: boolean } {
    const all = this.known();
    this.failedInRound++;
    if (this.failedInRound >= all.length) {
      this.failedInRound = 0;
      this.at = all[0] ?? this.at;
      return { next: this.at, wait: true };
    }
    this.at = this.after(this.at, all);
    return { next: this.at, wait: false };
  }

  /** A heartbeat was answered. */
  heartbeatOk(): void {
    this.heartbeatFailures = 0;
  }

  /**
   * A heartbeat failed: retry the same Point (after the link's backoff), or
   * move on to the next known one (now `current`) and register there.
   */
  heartbeatFailed(): HeartbeatVerdict {
    this.heartbeatFailures++;
    const all = this.known();
    if (this.heartbeatFailures < this.options.failoverAfter || all.length < 2) return 'retry';
    this.heartbeatFailures = 0;
    this.failovers++;
    this.at = this.after(this.at, all);
    this.failedInRound = 1; // the Point we leave counts as tried in the round that starts
    return 'move';
  }

  private after(url: string, all: readonly string[]): string {
    const i = all.indexOf(url);
    return all[(i + 1) % all.length] ?? url;
  }
}
