import { describe, expect, test } from 'vitest';
import { buildPointConfig, POINT_DEFAULTS, POINT_LOCAL_TEST, type PointConfigInput } from '../../../src/bootstrap/config.js';
import { ConfigError } from '../../../src/errors.js';

describe('Point config', () => {
  test('both profiles are valid and frozen; defaults are the documented ones', () => {
    for (const profile of [POINT_DEFAULTS, POINT_LOCAL_TEST]) {
      expect(buildPointConfig({}, profile)).toEqual(profile);
      expect(Object.isFrozen(buildPointConfig({}, profile))).toBe(true);
    }
    expect(buildPointConfig({}, 'localTest')).toEqual(POINT_LOCAL_TEST);
    expect(POINT_DEFAULTS).toMatchObject({ port: 8080, host: '0.0.0.0', heartbeatTtlSec: 30, banQuorum: 2, banDurationSec: 7 * 24 * 3600 });
    const built = buildPointConfig({ peerPoints: ['http://a:1'] });
    expect(() => (built.peerPoints as string[]).push('x')).toThrow();
  });

  test('overrides merge; undefined keeps the default', () => {
    const config = buildPointConfig({ port: 9000, redisUrl: undefined, banQuorum: 3 });
    expect(config).toMatchObject({ port: 9000, banQuorum: 3, host: '0.0.0.0' });
    expect(config.redisUrl).toBeUndefined();
  });

  test.each<[PointConfigInput, string, RegExp]>([
    [{ port: 70000 }, 'port', /^must be an integer in \[0, 65535\]$/],
    [{ banQuorum: 0 }, 'banQuorum', /^must be an integer in \[1, 100\]$/],
    [{ redisUrl: 'not a url' }, 'redisUrl', /^must be a URL$/],
    [{ clusterSecret: 'short' }, 'clusterSecret', /^must be at least 8 characters$/],
    [{ redisPrefix: 'has space' }, 'redisPrefix', /^may hold only/],
    [{ heartbeatTtlSec: 1.5 }, 'heartbeatTtlSec', /^must be an integer in \[1, 86400\]$/],
    [{ peerPoints: ['http://a:1', 'nope'] }, 'peerPoints.1', /^must be a URL$/],
    [{ nonsense: 1 } as PointConfigInput, 'nonsense', /^unknown option$/],
  ])('rejects %j naming the option and its rule', (overrides, option, rule) => {
    try {
      buildPointConfig(overrides);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).option).toBe(option);
      expect((err as ConfigError).rule).toMatch(rule);
      expect((err as Error).message.startsWith(`${option}: `)).toBe(true);
    }
  });
});
