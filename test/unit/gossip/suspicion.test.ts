import { describe, expect, it } from 'vitest';
import { Suspicion, suspicionBounds, suspicionTimeoutMs } from '../../../src/gossip/core/suspicion.js';
import { MEMBERSHIP_PROFILES } from '../../../src/gossip/core/membership-config.js';

describe('suspicionTimeoutMs', () => {
  // the cases of memberlist's TestSuspicion_remainingSuspicionTime (min 2 s, max 30 s, k 3)
  it.each([
    [0, 30_000],
    [1, 16_000],
    [2, 7_810],
    [3, 2_000],
    [4, 2_000],
  ])('after %i of 3 confirmations waits %i ms', (n, expected) => {
    expect(suspicionTimeoutMs(n, 3, 2_000, 30_000)).toBe(expected);
  });

  it('is the minimum when no confirmation is expected (k < 1)', () => {
    expect(suspicionTimeoutMs(0, 0, 2_000, 30_000)).toBe(2_000);
  });

  it('never grows and never goes below the minimum', () => {
    let last = Infinity;
    for (let n = 0; n <= 10; n++) {
      const t = suspicionTimeoutMs(n, 5, 1_000, 6_000);
      expect(t).toBeLessThanOrEqual(last);
      expect(t).toBeGreaterThanOrEqual(1_000);
      last = t;
    }
  });
});

describe('suspicionBounds', () => {
  it('scales the floor with ceil(log10(N+1)) and the ceiling by the max multiplier', () => {
    const p = MEMBERSHIP_PROFILES.production; // 1 s probes, mult 4, max mult 6
    expect(suspicionBounds(p, 10)).toEqual({ minMs: 8_000, maxMs: 48_000, k: 2 });
    expect(suspicionBounds(p, 100)).toEqual({ minMs: 12_000, maxMs: 72_000, k: 2 });
    expect(suspicionBounds(p, 1_000)).toEqual({ minMs: 16_000, maxMs: 96_000, k: 2 });
    expect(suspicionBounds(p, 1).minMs).toBe(4_000);
  });
});

describe('Suspicion', () => {
  const bounds = { minMs: 2_000, maxMs: 30_000, k: 3 };

  it('starts at the maximum', () => {
    const s = new Suspicion('a', 1_000, bounds);
    expect(s.deadline()).toBe(31_000);
    expect(s.expired(30_999)).toBe(false);
    expect(s.expired(31_000)).toBe(true);
  });

  it('shrinks with each independent confirmation, down to the minimum', () => {
    const s = new Suspicion('a', 0, bounds);
    expect(s.confirm('b')).toBe(true);
    expect(s.deadline()).toBe(16_000);
    expect(s.confirm('c')).toBe(true);
    expect(s.deadline()).toBe(7_810);
    expect(s.confirm('d')).toBe(true);
    expect(s.deadline()).toBe(2_000);
    expect(s.confirmations).toBe(3);
  });

  it('does not count the first accuser, a repeated accuser, or confirmations past k', () => {
    const s = new Suspicion('a', 0, bounds);
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    s.confirm('c');
    s.confirm('d');
    expect(s.confirm('e')).toBe(false);
    expect(s.confirmations).toBe(3);
  });

  it('expires at once when confirmations arrive after the shortened timeout has passed', () => {
    const s = new Suspicion('a', 0, bounds);
    expect(s.expired(10_000)).toBe(false);
    s.confirm('b');
    s.confirm('c');
    expect(s.expired(10_000)).toBe(true);
  });
});
