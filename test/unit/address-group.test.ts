import { describe, expect, it } from 'vitest';
import { ipGroup } from '../../src/address-group.js';

describe('ipGroup', () => {
  it('keeps an IPv4 address and unwraps an IPv4-mapped IPv6 one', () => {
    expect(ipGroup('10.0.0.7')).toBe('10.0.0.7');
    expect(ipGroup('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(ipGroup('::FFFF:a00:7')).toBe('10.0.0.7');
  });

  it('groups an IPv6 address by its /64, however it is written', () => {
    expect(ipGroup('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(ipGroup('2001:0DB8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(ipGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipGroup('2001:db8:1:3::5')).not.toBe(ipGroup('2001:db8:1:2::5'));
  });

  it('is undefined for what is not an IP address (host names, shorthand IPv4, garbage)', () => {
    for (const text of ['node-1.example', '127.1', '0x7f.0.0.1', '1.2.3.4.5', '', ':::', 'unknown']) expect(ipGroup(text), text).toBeUndefined();
  });
});
