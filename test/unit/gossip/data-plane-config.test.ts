import { describe, expect, it } from 'vitest';
import { DATA_PLANE_OPTIONS, DATA_PLANE_PROFILES, type DataPlaneConfig } from '../../../src/gossip/core/data-plane-config.js';
import { ConfigError } from '../../../src/errors.js';
import { buildOptions } from '../../../src/options.js';

describe('data plane config', () => {
  it('ships valid, frozen production and local-test profiles', () => {
    for (const name of ['production', 'localTest'] as const) {
      const profile = DATA_PLANE_PROFILES[name];
      expect(Object.isFrozen(profile)).toBe(true);
      expect(buildOptions(DATA_PLANE_OPTIONS, {}, profile)).toEqual(profile);
      expect(buildOptions(DATA_PLANE_OPTIONS, {}, name)).toEqual(profile);
    }
    expect(DATA_PLANE_PROFILES.localTest.antiEntropyIntervalMs).toBeLessThan(DATA_PLANE_PROFILES.production.antiEntropyIntervalMs);
  });

  it('applies overrides on a profile and freezes the result', () => {
    const c = buildOptions(DATA_PLANE_OPTIONS, { fanout: 6, staleAdmissionMs: 86_400_000 }, 'localTest');
    expect(c.fanout).toBe(6);
    expect(c.staleAdmissionMs).toBe(86_400_000);
    expect(c.antiEntropyIntervalMs).toBe(DATA_PLANE_PROFILES.localTest.antiEntropyIntervalMs);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the option and its rule when a value is out of range', () => {
    const build = (o: Partial<DataPlaneConfig>) => () => buildOptions(DATA_PLANE_OPTIONS, o);
    expect(build({ fanout: 0 })).toThrow(/^dataPlane\.fanout: must be an integer in \[1, 32\]$/);
    expect(build({ fanout: 2.5 })).toThrow(/^dataPlane\.fanout: must be an integer in \[1, 32\]$/);
    expect(build({ treeDepth: 9 })).toThrow(/^dataPlane\.treeDepth: must be an integer in \[1, 8\]$/);
    expect(build({ maxHops: 64 })).toThrow(/^dataPlane\.maxHops: must be an integer in \[1, 63\]$/);
    expect(build({ staleAdmissionMs: -1 })).toThrow(/^dataPlane\.staleAdmissionMs: must be an integer in \[0, 9007199254740991\]$/);
    expect(build({ aePackedChildren: 1 as unknown as boolean })).toThrow(/^dataPlane\.aePackedChildren: must be true or false$/);
    expect(build({ fanout: 0 })).toThrow(ConfigError);
  });

  it('keeps every range it had (regression: the hand-written validator became a schema)', () => {
    const ranges: Record<string, [number, number]> = {
      fanout: [1, 32], maxHops: [1, 63], antiEntropyIntervalMs: [1, 3_600_000], treeDepth: [1, 8], aeLeafKeys: [0, 4096],
      aeMaxExpansions: [1, 256], aeMaxVersionsPerReply: [1, 16_384], seenFilterVersions: [1, 10_000_000],
      seenFilterPeersPerVersion: [1, 1_024], bodyHolderEntries: [1, 10_000_000], holdersPerBody: [1, 256],
      staleAdmissionMs: [0, Number.MAX_SAFE_INTEGER],
    };
    for (const [name, [min, max]] of Object.entries(ranges)) {
      expect(buildOptions(DATA_PLANE_OPTIONS, { [name]: min })).toMatchObject({ [name]: min });
      expect(buildOptions(DATA_PLANE_OPTIONS, { [name]: max })).toMatchObject({ [name]: max });
      expect(() => buildOptions(DATA_PLANE_OPTIONS, { [name]: min - 1 }), name).toThrow(`dataPlane.${name}: must be an integer in [${min}, ${max}]`);
      if (max < Number.MAX_SAFE_INTEGER) expect(() => buildOptions(DATA_PLANE_OPTIONS, { [name]: max + 1 }), name).toThrow(`dataPlane.${name}:`);
    }
  });

  it('refuses unknown options', () => {
    const unknown = () => buildOptions(DATA_PLANE_OPTIONS, {}, { ...DATA_PLANE_PROFILES.production, fanuot: 3 } as DataPlaneConfig);
    expect(unknown).toThrow(ConfigError);
    expect(unknown).toThrow(/^dataPlane\.fanuot: unknown option$/);
  });
});
