import { describe, expect, it } from 'vitest';
import {
  DATA_PLANE_PROFILES,
  DataPlaneConfigError,
  LOCAL_TEST_DATA_PLANE,
  PRODUCTION_DATA_PLANE,
  dataPlaneConfig,
  validateDataPlaneConfig,
} from '../../../src/gossip/core/data-plane-config.js';

describe('data plane config', () => {
  it('ships valid, frozen production and local-test profiles', () => {
    for (const profile of [PRODUCTION_DATA_PLANE, LOCAL_TEST_DATA_PLANE]) {
      expect(Object.isFrozen(profile)).toBe(true);
      expect(validateDataPlaneConfig(profile as unknown as Record<string, unknown>)).toEqual(profile);
    }
    expect(DATA_PLANE_PROFILES.localTest.antiEntropyIntervalMs).toBeLessThan(DATA_PLANE_PROFILES.production.antiEntropyIntervalMs);
  });

  it('applies overrides on a profile and freezes the result', () => {
    const c = dataPlaneConfig('localTest', { fanout: 6, staleAdmissionMs: 86_400_000 });
    expect(c.fanout).toBe(6);
    expect(c.staleAdmissionMs).toBe(86_400_000);
    expect(c.antiEntropyIntervalMs).toBe(LOCAL_TEST_DATA_PLANE.antiEntropyIntervalMs);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the option and its rule when a value is out of range', () => {
    expect(() => dataPlaneConfig('production', { fanout: 0 })).toThrow(/dataPlane\.fanout: must be an integer in \[1, 32\]/);
    expect(() => dataPlaneConfig('production', { treeDepth: 9 })).toThrow(/dataPlane\.treeDepth/);
    expect(() => dataPlaneConfig('production', { maxHops: 64 })).toThrow(/dataPlane\.maxHops/);
    expect(() => dataPlaneConfig('production', { aePackedChildren: 1 as unknown as boolean })).toThrow(/dataPlane\.aePackedChildren/);
  });

  it('refuses unknown options', () => {
    expect(() => validateDataPlaneConfig({ ...PRODUCTION_DATA_PLANE, fanuot: 3 })).toThrow(DataPlaneConfigError);
    expect(() => validateDataPlaneConfig({ ...PRODUCTION_DATA_PLANE, fanuot: 3 })).toThrow(/dataPlane\.fanuot: unknown option/);
  });
});
