import { describe, expect, it } from 'vitest';
import { fullBucket, retryAfterSeconds, takeTokens } from '../../../src/rate-limit/token-bucket.js';
import type { Socket } from 'node:net';
import { addressKey, RateLimiter } from '../../../src/rate-limit/limiter.js';

const spec = { ratePerSec: 10, burst: 5 };

describe('token bucket', () => {
  it('allows a full burst at once, then refuses with the time to the next token', () => {
    const b = fullBucket(spec, 0);
    for (let i = 0; i < 5; i++) expect(takeTokens(b, spec, 0)).toBe(0);
    expect(takeTokens(b, spec, 0)).toBe(100); // 1 token at 10/s
    expect(takeTokens(b, spec, 50)).toBe(50);
  });

  it('refills at the rate and never above the burst', () => {
    const b = fullBucket(spec, 0);
    for (let i = 0; i < 5; i++) takeTokens(b, spec, 0);
    expect(takeTokens(b, spec, 100)).toBe(0);
    expect(takeTokens(b, spec, 100)).toBeGreaterThan(0);
    // an hour idle still holds only `burst` tokens
    const allowed = Array.from({ length: 10 }, () => takeTokens(b, spec, 3_600_000)).filter((w) => w === 0).length;
    expect(allowed).toBe(5);
  });

  it('a refused request takes nothing', () => {
    const b = fullBucket(spec, 0);
    for (let i = 0; i < 5; i++) takeTokens(b, spec, 0);
    for (let i = 0; i < 100; i++) expect(takeTokens(b, spec, 0)).toBeGreaterThan(0);
    expect(takeTokens(b, spec, 100)).toBe(0);
  });

  it('a clock that goes backwards adds no tokens', () => {
    const b = fullBucket(spec, 1000);
    for (let i = 0; i < 5; i++) takeTokens(b, spec, 1000);
    expect(takeTokens(b, spec, 0)).toBeGreaterThan(0);
    expect(takeTokens(b, spec, 500)).toBeGreaterThan(0);
    expect(b.tokens).toBe(0);
  });

  it('charges costs above one and refuses a cost over the burst every time', () => {
    const b = fullBucket(spec, 0);
    expect(takeTokens(b, spec, 0, 3)).toBe(0);
    expect(takeTokens(b, spec, 0, 3)).toBe(100);
    expect(takeTokens(b, spec, 10_000, 6)).toBeGreaterThan(0);
  });

  it('rate 0 is off', () => {
    const off = { ratePerSec: 0, burst: 0 };
    const b = fullBucket(off, 0);
    for (let i = 0; i < 1000; i++) expect(takeTokens(b, off, 0)).toBe(0);
  });

  it('Retry-After is whole seconds, at least 1', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
  });
});

describe('rate limiter table', () => {
  it('keeps one bucket per key, bounded by maxEntries (least recently seen out)', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSec: 1, burst: 1, maxEntries: 3, clock: () => now });
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
    for (const k of ['b', 'c', 'd', 'e']) expect(limiter.take(k)).toBe(0);
    expect(limiter.size).toBe(3);
    // 'a' was evicted: it comes back with a full bucket
    expect(limiter.take('a')).toBe(0);
    expect(limiter.refused).toBe(1);
    now = 1000;
    expect(limiter.take('a')).toBe(0);
  });

  it('connections from one address share its bucket; a connection keeps it while the table forgets the address', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSec: 1, burst: 3, maxEntries: 2, clock: () => now });
    const socket = (remoteAddress: string): Socket => ({ remoteAddress }) as unknown as Socket;
    const [a1, a2] = [socket('10.0.0.1'), socket('::ffff:10.0.0.1')];
    expect(limiter.takeFor(a1)).toBe(0);
    expect(limiter.takeFor(a2)).toBe(0);
    expect(limiter.takeFor(a1)).toBe(0);
    expect(limiter.takeFor(a2)).toBeGreaterThan(0); // 3 tokens for the address, whichever connection
    // two other addresses push 10.0.0.1 out of the table: its open connection still holds the empty bucket
    limiter.takeFor(socket('10.0.0.2'));
    limiter.takeFor(socket('10.0.0.3'));
    expect(limiter.size).toBe(2);
    expect(limiter.takeFor(a1)).toBeGreaterThan(0);
    // and puts it back in the table when it looks the address up again (every 64th request)
    for (let i = 0; i < 64; i++) limiter.takeFor(a1);
    expect(limiter.takeFor(socket('10.0.0.1'))).toBeGreaterThan(0);
    now = 1000;
    expect(limiter.takeFor(a2)).toBe(0);
  });

  it('a disabled limiter keeps no state', () => {
    const limiter = new RateLimiter({ ratePerSec: 0, burst: 0, maxEntries: 10 });
    for (let i = 0; i < 100; i++) expect(limiter.take(`k${i}`)).toBe(0);
    expect(limiter.size).toBe(0);
  });
});

describe('addressKey', () => {
  it.each([
    ['127.0.0.5', '127.0.0.5'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ff', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'unknown'],
    ['not an address', 'unknown'],
  ])('%s -> %s', (raw, key) => {
    expect(addressKey(raw)).toBe(key);
  });

  it('two hosts of one /64 share a key, of two /64s do not', () => {
    expect(addressKey('2001:db8::1')).toBe(addressKey('2001:db8::ffff:1'));
    expect(addressKey('2001:db8:0:1::1')).not.toBe(addressKey('2001:db8:0:2::1'));
  });
});
