import { describe, expect, it } from 'vitest';
import { buildNodeConfig, parseSize } from '../../../src/node/config.js';

describe('sizes', () => {
  it('reads IEC and SI-looking units as powers of 1024 (regression: "2GiB" was read as 2 bytes)', () => {
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('2GB')).toBe(2 * 1024 ** 3);
    expect(parseSize('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5 kb')).toBe(1536);
    expect(parseSize('10')).toBe(10);
    expect(parseSize(4096)).toBe(4096);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['lots', '2 GiBs', '-1', '0', '1e9', '5 petabytes', '', 'GiB']) expect(parseSize(bad)).toBeUndefined();
  });

  it('the node config names the option on a bad size', () => {
    expect(() => buildNodeConfig({ maxBlobBytes: '2 lots' })).toThrow(/maxBlobBytes: max blob size must be a positive size/);
    expect(buildNodeConfig({ maxBlobBytes: '2GiB', quotaBytes: '4GiB' })).toMatchObject({ maxBlobBytes: 2 * 1024 ** 3, quotaBytes: 4 * 1024 ** 3 });
  });
});
