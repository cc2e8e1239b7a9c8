/**
 * The one way options are built: named profiles, deep merge, strict
 * validation naming the option by its full path and its rule, deep freeze.
 * A small option set of its own keeps these tests about the mechanism; the
 * real sets are tested beside their subsystems and in test/unit/node/config.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../src/errors.js';
import { buildOptions, defineOptions, deepFreeze, integerIn, mergeOptions, profileKey, isProfileName } from '../../src/options.js';

const schema = z.strictObject({
  intervalMs: integerIn(1, 10_000),
  timeoutMs: integerIn(1, 10_000),
  peers: z.array(z.string()).max(4),
  retry: z.strictObject({ baseMs: integerIn(1, 1000), capMs: integerIn(1, 60_000) }),
}).superRefine((o, ctx) => {
  if (2 * o.timeoutMs > o.intervalMs) ctx.addIssue({ code: 'custom', path: ['timeoutMs'], message: 'must be at most half of intervalMs' });
});

const PROBE = defineOptions('probe', schema, {
  production: { intervalMs: 1000, timeoutMs: 500, peers: ['a'], retry: { baseMs: 250, capMs: 10_000 } },
  localTest: { intervalMs: 100, timeoutMs: 40, peers: [], retry: { baseMs: 10, capMs: 100 } },
});

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('buildOptions', () => {
  it('builds a profile as it is, production by default', () => {
    expect(buildOptions(PROBE)).toEqual(PROBE.profiles.production);
    expect(buildOptions(PROBE, {}, 'localTest')).toEqual(PROBE.profiles.localTest);
  });

  it('merges overrides onto a profile at every depth; undefined keeps the default; arrays replace', () => {
    const o = buildOptions(PROBE, { timeoutMs: 30, retry: { capMs: 50 }, intervalMs: undefined, peers: ['x', 'y'] }, 'localTest');
    expect(o).toEqual({ intervalMs: 100, timeoutMs: 30, peers: ['x', 'y'], retry: { baseMs: 10, capMs: 50 } });
  });

  it('takes a complete set of options as the base, e.g. another built set', () => {
    const base = buildOptions(PROBE, { intervalMs: 5000 });
    expect(buildOptions(PROBE, { timeoutMs: 2000 }, base)).toMatchObject({ intervalMs: 5000, timeoutMs: 2000, retry: { baseMs: 250 } });
  });

  it('refuses an unknown key, naming it by its full path', () => {
    expect(configErrorOf(() => buildOptions(PROBE, { intervalMS: 5 } as never)).option).toBe('probe.intervalMS');
    const nested = configErrorOf(() => buildOptions(PROBE, { retry: { capMS: 5 } } as never));
    expect([nested.option, nested.rule]).toEqual(['probe.retry.capMS', 'unknown option']);
    expect(nested.message).toBe('probe.retry.capMS: unknown option');
  });

  it('a rule broken names the option by its full path and the rule', () => {
    const cross = configErrorOf(() => buildOptions(PROBE, { timeoutMs: 600 }));
    expect(cross.message).toBe('probe.timeoutMs: must be at most half of intervalMs');
    const range = configErrorOf(() => buildOptions(PROBE, { retry: { baseMs: 0 } }));
    expect([range.option, range.rule]).toEqual(['probe.retry.baseMs', 'must be an integer in [1, 1000]']);
    expect(configErrorOf(() => buildOptions(PROBE, { intervalMs: 1.5 })).rule).toBe('must be an integer in [1, 10000]');
    expect(configErrorOf(() => buildOptions(PROBE, { intervalMs: '1000' as never })).rule).toBe('must be an integer in [1, 10000]');
    expect(configErrorOf(() => buildOptions(PROBE, { peers: ['1', '2', '3', '4', '5'] })).option).toBe('probe.peers');
  });

  it('a set at the root (the node, the Point) names options without a prefix', () => {
    const ROOT = defineOptions('', z.strictObject({ port: integerIn(0, 65535) }), { production: { port: 7000 }, localTest: { port: 0 } });
    expect(configErrorOf(() => buildOptions(ROOT, { port: 70_000 })).message).toBe('port: must be an integer in [0, 65535]');
    expect(configErrorOf(() => buildOptions(ROOT, { prot: 1 } as never)).message).toBe('prot: unknown option');
  });

  it('freezes the result all the way down', () => {
    const o = buildOptions(PROBE, { peers: ['x'] });
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.retry)).toBe(true);
    expect(Object.isFrozen(o.peers)).toBe(true);
    expect(() => { (o.retry as { capMs: number }).capMs = 1; }).toThrow(TypeError);
    expect(() => (o.peers as string[]).push('y')).toThrow(TypeError);
  });

  it('leaves the profile and the overrides as they were', () => {
    const overrides = { retry: { capMs: 50 } };
    buildOptions(PROBE, overrides);
    expect(overrides).toEqual({ retry: { capMs: 50 } });
    expect(PROBE.profiles.production.retry.capMs).toBe(10_000);
  });
});

describe('defineOptions', () => {
  it('freezes its profiles deeply', () => {
    expect(Object.isFrozen(PROBE.profiles)).toBe(true);
    expect(Object.isFrozen(PROBE.profiles.localTest.retry)).toBe(true);
    expect(Object.isFrozen(PROBE.profiles.production.peers)).toBe(true);
  });

  it('refuses a profile that breaks its own rules, naming the option', () => {
    const bad = () => defineOptions('probe', schema, {
      production: { intervalMs: 1000, timeoutMs: 500, peers: [], retry: { baseMs: 250, capMs: 10_000 } },
      localTest: { intervalMs: 100, timeoutMs: 90, peers: [], retry: { baseMs: 10, capMs: 100 } },
    });
    expect(configErrorOf(bad).message).toBe('probe.timeoutMs: must be at most half of intervalMs');
  });
});

describe('helpers', () => {
  it('mergeOptions merges plain objects and replaces the rest', () => {
    expect(mergeOptions({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 4 }, e: 5 })).toEqual({ a: 1, b: { c: 2, d: 4 }, e: 5 });
    expect(mergeOptions({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(mergeOptions({ a: { b: 1 } }, { a: 7 })).toEqual({ a: 7 });
    expect(mergeOptions({ a: 1 }, undefined)).toEqual({ a: 1 });
  });

  it('deepFreeze freezes nested objects and arrays', () => {
    const v = deepFreeze({ a: { b: [{ c: 1 }] } });
    expect(Object.isFrozen(v.a.b[0])).toBe(true);
  });

  it('profile names map to profile keys', () => {
    expect([profileKey('production'), profileKey('local-test')]).toEqual(['production', 'localTest']);
    expect([isProfileName('local-test'), isProfileName('localTest'), isProfileName(undefined)]).toEqual([true, false, false]);
  });
});
