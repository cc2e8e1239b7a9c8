/**
 * The node's list of Points and its fail-over decisions (point-roster.ts),
 * and the `--bootstrap` list they start from: pure logic, no I/O.
 */
import { describe, expect, it } from 'vitest';
import { canonicalPointUrl, MAX_POINTS, parsePointList, PointRoster } from '../../../src/node/point-roster.js';
import { buildNodeConfig } from '../../../src/node/config.js';
import { ConfigError } from '../../../src/errors.js';

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const C = 'https://point-c.example:8443/cdn';

function refused(value: string | string[]): ConfigError {
  try {
    buildNodeConfig({ bootstrapUrls: value });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`${JSON.stringify(value)} was accepted`);
}

describe('the --bootstrap list', () => {
  it('takes one URL as it always did, and several separated by commas, in order, canonical', () => {
    expect(buildNodeConfig({ bootstrapUrls: 'http://127.0.0.1:8080' }).bootstrapUrls).toEqual(['http://127.0.0.1:8080']);
    expect(buildNodeConfig({ bootstrapUrls: `${B}/, ${A} ,${C}/` }).bootstrapUrls).toEqual([B, A, C]);
    expect(buildNodeConfig({ bootstrapUrls: [A, B] }).bootstrapUrls).toEqual([A, B]);
    expect(buildNodeConfig().bootstrapUrls).toEqual(['http://127.0.0.1:8080']);
  });

  it('refuses what is not a list of distinct http(s) URLs, naming the item and its rule', () => {
    expect(refused('').message).toBe('bootstrapUrls: must name at least one Point (an http(s) URL, or several separated by commas)');
    expect(refused(' , ').message).toMatch(/^bootstrapUrls: must name at least one Point/);
    expect(refused(`${A},,${B}`).message).toBe('bootstrapUrls: item 2 is empty (a stray comma?)');
    expect(refused(`${A},`).message).toBe('bootstrapUrls: item 2 is empty (a stray comma?)');
    expect(refused(`${A},ftp://x`).message).toBe('bootstrapUrls: item 2 (ftp://x) must be an http(s) URL without query or fragment');
    expect(refused('point:8080').message).toBe('bootstrapUrls: item 1 (point:8080) must be an http(s) URL without query or fragment');
    expect(refused('not a url').option).toBe('bootstrapUrls');
    expect(refused(`${A}?x=1`).message).toMatch(/item 1 .* without query or fragment/);
    expect(refused(`${A}#top`).message).toMatch(/item 1 .* without query or fragment/);
    expect(refused(`http://user:pw@10.0.0.1:8080`).message).toMatch(/item 1 .* must be an http\(s\) URL/);
    expect(refused(`${A},${B},${A}/`).message).toBe(`bootstrapUrls: item 3 (${A}/) names the same Point as an earlier one`);
    const many = Array.from({ length: MAX_POINTS + 1 }, (_, i) => `http://10.0.1.${i}:8080`);
    expect(refused(many.join(',')).message).toBe(`bootstrapUrls: must name at most ${MAX_POINTS} Points (it names ${MAX_POINTS + 1})`);
    expect(buildNodeConfig({ bootstrapUrls: many.slice(0, MAX_POINTS).join(',') }).bootstrapUrls).toHaveLength(MAX_POINTS);
    expect(refused(42 as never).message).toBe('bootstrapUrls: must be an http(s) URL, or several separated by commas');
  });

  it('compares Points by origin and path', () => {
    expect(canonicalPointUrl('HTTP://Point:8080/')).toBe('http://point:8080');
    expect(canonicalPointUrl('https://p/a/b//')).toBe('https://p/a/b');
    expect(canonicalPointUrl('http://p:80')).toBe('http://p');
    expect(canonicalPointUrl('ws://p')).toBeUndefined();
    expect(parsePointList([A])).toEqual({ urls: [A] });
  });
});

describe('PointRoster', () => {
  it('registers with the first Point that answers: the next at once, a wait after a whole round', () => {
    const r = new PointRoster([A, B, C], { failoverAfter: 3 });
    expect(r.current).toBe(A);
    expect(r.registrationFailed()).toEqual({ next: B, wait: false });
    expect(r.registrationFailed()).toEqual({ next: C, wait: false });
    // all three failed once: wait, then start again from the first configured Point
    expect(r.registrationFailed()).toEqual({ next: A, wait: true });
    expect(r.registrationFailed()).toEqual({ next: B, wait: false });
    r.registered();
    expect(r.current).toBe(B);
    expect(r.failovers).toBe(0);
  });

  it('with one Point, waits after each failure and never moves (as a single --bootstrap always did)', () => {
    const r = new PointRoster([A], { failoverAfter: 1 });
    expect(r.registrationFailed()).toEqual({ next: A, wait: true });
    r.registered();
    for (let i = 0; i < 10; i++) expect(r.heartbeatFailed()).toBe('retry');
    expect(r.current).toBe(A);
    expect(r.failovers).toBe(0);
  });

  it('moves after failoverAfter heartbeats in a row fail, not before; an answered one resets the count', () => {
    const r = new PointRoster([A, B], { failoverAfter: 3 });
    r.registered();
    expect(r.heartbeatFailed()).toBe('retry');
    expect(r.heartbeatFailed()).toBe('retry');
    r.heartbeatOk();
    expect(r.heartbeatFailed()).toBe('retry');
    expect(r.heartbeatFailed()).toBe('retry');
    expect(r.heartbeatFailed()).toBe('move');
    expect(r.current).toBe(B);
    expect(r.failovers).toBe(1);
    // the Point it left counts as tried: if B fails too, the node waits before trying A again
    expect(r.registrationFailed()).toEqual({ next: A, wait: true });
  });

  it('does not move back when its old Point returns: it stays until its own Point fails', () => {
    const r = new PointRoster([A, B], { failoverAfter: 1 });
    r.registered();
    expect(r.heartbeatFailed()).toBe('move');
    r.registered();
    for (let i = 0; i < 5; i++) r.heartbeatOk();
    expect(r.current).toBe(B);
    expect(r.heartbeatFailed()).toBe('move');
    expect(r.current).toBe(A);
    expect(r.failovers).toBe(2);
  });

  it('learns the Points its Point names, deduplicated, http(s) only, bounded; configured ones stay first', () => {
    const r = new PointRoster([A], { failoverAfter: 1, maxPoints: 4 });
    expect(r.learn([`${B}/`, A, B, 'ftp://x', 'junk', C])).toBe(true);
    expect(r.known()).toEqual([A, B, C]);
    expect(r.learn([B, C])).toBe(false);
    const flood = Array.from({ length: 100 }, (_, i) => `http://10.0.9.${i}:8080`);
    r.learn(flood);
    expect(r.known()).toHaveLength(4);
    expect(r.known().slice(0, 1)).toEqual([A]);
    // the newest answer replaces the learned ones
    r.learn([C]);
    expect(r.known()).toEqual([A, C]);
  });

  it('a node that knew only A learns B from A, moves to B when A dies, and keeps B known while registered there', () => {
    const r = new PointRoster([A], { failoverAfter: 2 });
    r.registered();
    r.learn([B]);
    expect(r.heartbeatFailed()).toBe('retry');
    expect(r.heartbeatFailed()).toBe('move');
    expect(r.current).toBe(B);
    r.registered();
    // B's /points names A (its --peer-points), which is configured: B itself stays known
    r.learn([A]);
    expect(r.known()).toEqual([A, B]);
    r.learn([]);
    expect(r.known()).toEqual([A, B]);
    expect(r.current).toBe(B);
  });

  it('needs at least one Point', () => {
    expect(() => new PointRoster([], { failoverAfter: 1 })).toThrow(/at least one Point/);
  });
});
