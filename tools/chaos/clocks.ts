/**
 * The chaos nodes' wall clocks, through the product's test-only clock file
 * (src/wall-clock.ts): each node runs with GOSSIP_CDN_TEST_CLOCK_FILE naming
 * its own file in the run dir, `{"offsetMs": N, "rate": R}`, which it polls
 * every 200 ms (no file: no skew). A file is written atomically (a temp file
 * in the same dir, then a rename), so a node never reads half of one.
 *
 * The skew belongs to the node's machine, not its process: a node killed
 * and restarted while skewed comes back with the skew still in effect. For a
 * drift that means the time gained so far, so before a (re)start the file is
 * rewritten with the gain folded into its offset (`beforeStart`), and again
 * once the node is up (`afterStart`: it read the file as it started, and its
 * start-up took a while).
 *
 * What a node's clock reads is checked, not assumed: every answer under
 * /gossip carries the node's wall clock (`x-gossip-time`), even the refusal
 * of an unsigned request, so `skewMs` asks and compares with the runner's
 * own clock.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { TIME_HEADER } from '../../src/gossip/shell/signing.js';

export interface ClockSkew {
  offsetMs: number;
  /** 1 is real time, above runs fast */
  rate: number;
}

export const NO_SKEW: ClockSkew = Object.freeze({ offsetMs: 0, rate: 1 });

interface NodeClock {
  file: string;
  offsetMs: number;
  rate: number;
  /** when `offsetMs` was true (the runner's Date.now()) */
  sinceMs: number;
  /** writes of this node's file, in order */
  writing: Promise<void>;
}

export class ClockFiles {
  private readonly clocks: NodeClock[];
  private writes = 0;

  constructor(private readonly dir: string, nodes: number) {
    this.clocks = Array.from({ length: nodes }, (_, i) => ({ file: join(dir, `clock-${i}.json`), offsetMs: 0, rate: 1, sinceMs: Date.now(), writing: Promise.resolve() }));
  }

  /** The clock file node `index` runs with. */
  fileFor(index: number): string {
    return this.at(index).file;
  }

  /** The skew node `index` should show now, ms (its offset plus what its rate has gained since). */
  expectedSkewMs(index: number, now = Date.now()): number {
    const c = this.at(index);
    return c.offsetMs + (c.rate - 1) * (now - c.sinceMs);
  }

  /** Skews node `index` from now on; resolves once the file is in place. */
  async set(index: number, skew: ClockSkew): Promise<void> {
    const c = this.at(index);
    c.offsetMs = skew.offsetMs;
    c.rate = skew.rate;
    c.sinceMs = Date.now();
    await this.write(c);
  }

  /** Before node `index` (re)starts: its file holds the skew in effect now, a drift's gain included. */
  async beforeStart(index: number): Promise<void> {
    await this.fold(index);
  }

  /**
   * Once node `index` is up again: a drifting node read its file when it
   * started, seconds after `beforeStart`, and missed what its drift gained
   * meanwhile; the file rewritten with the gain so far puts it right (it
   * re-reads within 200 ms). Nothing to do on real time or a plain offset.
   */
  async afterStart(index: number): Promise<void> {
    if (this.at(index).rate !== 1) await this.fold(index);
  }

  private async fold(index: number): Promise<void> {
    const c = this.at(index);
    if (c.rate !== 1) {
      const now = Date.now();
      c.offsetMs = Math.round(this.expectedSkewMs(index, now));
      c.sinceMs = now;
    }
    await this.write(c);
  }

  /** Every node back on real time. */
  async resetAll(): Promise<void> {
    await Promise.all(this.clocks.map((_, i) => this.set(i, NO_SKEW)));
  }

  private at(index: number): NodeClock {
    const c = this.clocks[index];
    if (c === undefined) throw new RangeError(`no node ${index}`);
    return c;
  }

  private async write(c: NodeClock): Promise<void> {
    const text = `${JSON.stringify({ offsetMs: Math.round(c.offsetMs), rate: c.rate })}\n`;
    const temp = join(this.dir, `.${c.file.slice(this.dir.length + 1)}.${process.pid}.${++this.writes}.tmp`);
    const next = c.writing.catch(() => undefined).then(async () => {
      await writeFile(temp, text);
      await rename(temp, c.file);
    });
    c.writing = next;
    await next;
  }
}

/**
 * How far node `url`'s wall clock is from the runner's, ms: its
 * `x-gossip-time` against the middle of the request. Throws when it does not
 * answer within `timeoutMs` (killed, paused) or says no time.
 */
export async function skewMs(url: string, timeoutMs = 2000): Promise<number> {
  const sent = Date.now();
  const res = await request(`${url}/gossip/bodies/clock`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  await res.body.dump();
  const answered = Date.now();
  const header = res.headers[TIME_HEADER];
  const time = Number(Array.isArray(header) ? header[0] : header);
  if (!Number.isFinite(time) || time <= 0) throw new Error(`${url} answered ${res.statusCode} without ${TIME_HEADER}`);
  return time - (sent + answered) / 2;
}
