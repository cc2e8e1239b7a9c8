import { describe, expect, test } from 'vitest';
import { buildPointConfig, POINT_DEFAULTS, POINT_LOCAL_TEST, type PointConfigInput } from '../../../src/bootstrap/config.js';

describe('Point config', () => {
  test('both profiles are valid and frozen; defaults are the documented ones', () => {
    for (const profile of [POINT_DEFAULTS, POINT_LOCAL_TEST]) {
      expect(buildPointConfig({}, profile)).toEqual(profile);
      expect(Object.isFrozen(buildPointConfig({}, profile))).toBe(true);
    }
    expect(POINT_DEFAULTS).toMatchObject({ port: 8080, host: '0.0.0.0', heartbeatTtlSec: 30, banQuorum: 2, banDurationSec: 7 * 24 * 3600 });
    const built = buildPointConfig({ peerPoints: ['http://a:1'] });
    expect(() => (built.peerPoints as string[]).push('x')).toThrow();
  });

  test('overrides merge; undefined keeps the default', () => {
    const config = buildPointConfig({ port: 9000, redisUrl: undefined, banQuorum: 3 });
    expect(config).toMatchObject({ port: 9000, banQuorum: 3, host: '0.0.0.0' });
    expect(config.redisUrl).toBeUndefined();
  });

  test.each<[PointConfigInput, RegExp]>([
    [{ port: 70000 }, /option port:/],
    [{ banQuorum: 0 }, /option banQuorum:/],
    [{ redisUrl: 'not a url' }, /option redisUrl:/],
    [{ clusterSecret: 'short' }, /option clusterSecret:/],
    [{ redisPrefix: 'has space' }, /option redisPrefix:/],
    [{ heartbeatTtlSec: 1.5 }, /option heartbeatTtlSec:/],
    [{ nonsense: 1 } as PointConfigInput, /nonsense/],
  ])('rejects %j naming the option', (overrides, message) => {
    expect(() => buildPointConfig(overrides)).toThrow(message);
  });
});
