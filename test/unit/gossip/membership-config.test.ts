import { describe, expect, it } from 'vitest';
import {
  MEMBERSHIP_OPTIONS,
  MEMBERSHIP_PROFILES,
  logScale,
  pushPullIntervalFor,
  type MembershipOptions,
} from '../../../src/gossip/core/membership-config.js';
import { ConfigError } from '../../../src/errors.js';
import { buildOptions } from '../../../src/options.js';

describe('membership profiles', () => {
  it.each(['production', 'localTest'] as const)('%s is valid and frozen', (name) => {
    const profile = MEMBERSHIP_PROFILES[name];
    expect(buildOptions(MEMBERSHIP_OPTIONS, {}, name)).toEqual(profile);
    expect(Object.isFrozen(profile)).toBe(true);
    expect(Object.isFrozen(MEMBERSHIP_PROFILES)).toBe(true);
  });

  it('production keeps memberlist LAN timing', () => {
    const p = MEMBERSHIP_PROFILES.production;
    expect([p.probeIntervalMs, p.probeTimeoutMs, p.indirectChecks, p.suspicionMult, p.suspicionMaxTimeoutMult, p.retransmitMult]).toEqual([1000, 500, 3, 4, 6, 4]);
  });

  it('localTest is faster than production', () => {
    const { production: p, localTest: l } = MEMBERSHIP_PROFILES;
    expect(l.probeIntervalMs).toBeLessThan(p.probeIntervalMs);
    expect(l.pushPullIntervalMs).toBeLessThan(p.pushPullIntervalMs);
    expect(l.deadRetryMaxMs).toBeLessThan(p.deadRetryMaxMs);
  });
});

describe('membership options', () => {
  it('merges overrides over a profile and freezes the result', () => {
    const o = buildOptions(MEMBERSHIP_OPTIONS, { indirectChecks: 5 }, 'localTest');
    expect(o.indirectChecks).toBe(5);
    expect(o.probeIntervalMs).toBe(MEMBERSHIP_PROFILES.localTest.probeIntervalMs);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it.each<[Partial<MembershipOptions>, string, RegExp]>([
    [{ probeIntervalMs: 0 }, 'membership.probeIntervalMs', /positive/],
    [{ probeTimeoutMs: 600 }, 'membership.probeTimeoutMs', /half of probeIntervalMs/],
    [{ tickMs: 200 }, 'membership.tickMs', /quarter of probeTimeoutMs/],
    [{ indirectChecks: 1.5 }, 'membership.indirectChecks', /whole number/],
    [{ deadRetryBaseMs: 120_000 }, 'membership.deadRetryBaseMs', /deadRetryMaxMs/],
    [{ reapAfterMs: 1_000 }, 'membership.reapAfterMs', /deadRetryMaxMs/],
    [{ maxMembers: 10_000 }, 'membership.maxMembers', /at most 4095/],
  ])('rejects %o naming %s', (override, option, message) => {
    try {
      buildOptions(MEMBERSHIP_OPTIONS, override);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).option).toBe(option);
      expect((err as ConfigError).rule).toMatch(message);
      expect((err as Error).message).toMatch(new RegExp(`^${option.replace('.', '\\.')}: `));
    }
  });

  it('rejects unknown options by name', () => {
    expect(() => buildOptions(MEMBERSHIP_OPTIONS, { probeIntervalMS: 5 } as never)).toThrow(/^membership\.probeIntervalMS: unknown option$/);
  });
});

describe('scales', () => {
  it('logScale is ceil(log10(N+1)), at least 1', () => {
    expect([0, 1, 9, 10, 99, 100, 999, 1000].map(logScale)).toEqual([1, 1, 1, 2, 2, 3, 3, 4]);
  });

  it('push-pull interval grows as memberlist scales it above 32 nodes', () => {
    const p = MEMBERSHIP_PROFILES.production;
    expect(pushPullIntervalFor(p, 32)).toBe(30_000);
    expect(pushPullIntervalFor(p, 100)).toBe(90_000);
    expect(pushPullIntervalFor(p, 1_000)).toBe(180_000);
    expect(pushPullIntervalFor(p, 10_000)).toBe(300_000);
  });
});
