import { describe, expect, it } from 'vitest';
import { Awareness } from '../../../src/gossip/core/awareness.js';

describe('Awareness', () => {
  it('starts healthy and scales nothing', () => {
    const a = new Awareness(8);
    expect(a.score).toBe(0);
    expect(a.scale(500)).toBe(500);
  });

  it('multiplies timeouts by score + 1, clamped to [0, max − 1]', () => {
    const a = new Awareness(8);
    a.applyDelta(3);
    expect(a.scale(500)).toBe(2_000);
    a.applyDelta(100);
    expect(a.score).toBe(7);
    expect(a.scale(1_000)).toBe(8_000);
    a.applyDelta(-100);
    expect(a.score).toBe(0);
  });

  it('with max 1 never scales (Lifeguard off)', () => {
    const a = new Awareness(1);
    a.applyDelta(5);
    expect(a.scale(700)).toBe(700);
  });

  it('refuses a max below 1', () => {
    expect(() => new Awareness(0)).toThrow(RangeError);
  });
});
