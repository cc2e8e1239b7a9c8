/**
 * The test-only clock hook is refused outside the local-test profile, and
 * without it a node runs on the system's clock.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { systemWallClock, TEST_CLOCK_FILE_ENV, wallClock } from '../../src/wall-clock.js';

describe('wallClock', () => {
  it('is the system clock unless the test variable is set', () => {
    expect(wallClock('production', silentLogger(), {})).toBe(systemWallClock);
    expect(wallClock('production', silentLogger(), { [TEST_CLOCK_FILE_ENV]: '' })).toBe(systemWallClock);
  });

  it('refuses the test clock file outside the local-test profile', () => {
    expect(() => wallClock('production', silentLogger(), { [TEST_CLOCK_FILE_ENV]: '/tmp/no-such-clock.json' }))
      .toThrow(/GOSSIP_CDN_TEST_CLOCK_FILE is for fault tests only: it needs --gossip-profile local-test/);
  });

  it('with local-test and a missing file, reads real time', () => {
    const clock = wallClock('local-test', silentLogger(), { [TEST_CLOCK_FILE_ENV]: '/tmp/gcdn-no-such-clock-file.json' });
    try {
      expect(clock).not.toBe(systemWallClock);
      expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000);
    } finally {
      clock.stop?.();
    }
  });
});
