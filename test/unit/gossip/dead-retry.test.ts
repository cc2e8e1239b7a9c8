import { describe, expect, it } from 'vitest';
import { deadRetryDelayMs } from '../../../src/gossip/core/dead-retry.js';
import { SeededRandom } from '../../../tools/sim/seeded-random.js';

describe('deadRetryDelayMs', () => {
  const options = { deadRetryBaseMs: 1_000, deadRetryMaxMs: 30_000 };

  it('doubles from the base up to the cap, within ±25% jitter', () => {
    const random = new SeededRandom(5);
    for (let attempt = 0; attempt < 40; attempt++) {
      const nominal = Math.min(30_000, 1_000 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const d = deadRetryDelayMs(options, attempt, random);
        expect(d).toBeGreaterThanOrEqual(0.75 * nominal - 1);
        expect(d).toBeLessThanOrEqual(1.25 * nominal);
      }
    }
  });

  it('spreads retries out (jitter), so members that died together are not retried together', () => {
    const random = new SeededRandom(6);
    const delays = new Set(Array.from({ length: 20 }, () => deadRetryDelayMs(options, 3, random)));
    expect(delays.size).toBeGreaterThan(15);
  });
});
