import { describe, expect, test } from 'vitest';
import { joinTokenFor, joinTokenValid, normaliseIp } from '../../../src/bootstrap/caller.js';

describe('normaliseIp', () => {
  test.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.2', '127.0.0.2'],
    ['::FFFF:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['0:0:0:0:0:ffff:0a01:0203', '10.1.2.3'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:0:0:0:7', '2001:db8::7'],
    ['fe80::1%eth0', 'fe80::1'],
  ])('%s -> %s', (raw, want) => {
    expect(normaliseIp(raw)).toBe(want);
  });

  test.each([undefined, '', 'localhost', '999.1.1.1', '1.2.3', '::ffff:999.1.1.1', 'example.com'])('%s is not an address', (raw) => {
    expect(normaliseIp(raw)).toBeUndefined();
  });
});

describe('join tokens', () => {
  const secret = 'a long cluster secret';
  const key = 'AQpdVFrkQ-dK3fljSR5Wu7vm689OQhInsXjrNB2bNf0';

  test('are an HMAC of the public key under the secret, never the secret itself', () => {
    const token = joinTokenFor(secret, key);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(token).not.toContain(secret);
    expect(joinTokenValid(secret, key, token)).toBe(true);
  });

  test('a wrong, missing, other-key or raw-secret token is refused', () => {
    expect(joinTokenValid(secret, key, undefined)).toBe(false);
    expect(joinTokenValid(secret, key, '')).toBe(false);
    expect(joinTokenValid(secret, key, secret)).toBe(false);
    expect(joinTokenValid(secret, key, joinTokenFor('another secret', key))).toBe(false);
    expect(joinTokenValid(secret, key, joinTokenFor(secret, `${key.slice(0, -1)}A`))).toBe(false);
    expect(joinTokenValid(secret, key, `${joinTokenFor(secret, key)}x`)).toBe(false);
  });
});
