import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { backoffDelay } from '../../../src/bootstrap/backoff.js';

const options = { baseMs: 100, capMs: 2000 };

describe('backoffDelay (exponential, full jitter)', () => {
  test('the ceiling doubles per attempt up to the cap', () => {
    const top = (attempt: number): number => backoffDelay(attempt, options, () => 0.999_999);
    expect([0, 1, 2, 3, 4, 5, 6].map(top)).toEqual([99, 199, 399, 799, 1599, 1999, 1999]);
  });

  test('full jitter: the delay is random() times the ceiling, down to 0', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(400);
    expect(backoffDelay(3, options, () => 0.25)).toBe(200);
  });

  test('always within [0, min(cap, base * 2^attempt))', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 60 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 100_000 }),
      (attempt, r, baseMs, capMs) => {
        const delay = backoffDelay(attempt, { baseMs, capMs }, () => r);
        return Number.isInteger(delay) && delay >= 0 && delay < Math.max(1, Math.min(capMs, baseMs * 2 ** attempt));
      },
    ));
  });

  test('a negative attempt is treated as the first', () => {
    expect(backoffDelay(-3, options, () => 0.5)).toBe(50);
  });
});
