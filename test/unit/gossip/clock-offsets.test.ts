/**
 * Offset estimation (clock-offsets.ts): the median of each peer's last
 * samples, robust to jitter and to a few delayed answers, following a bump
 * once most samples show it; and the verdict that says when this node is the
 * one whose clock is off.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ClockOffsets, CLOCK_OFFSETS_DEFAULTS, median } from '../../../src/gossip/core/clock-offsets.js';

const LIMIT = 300_000;
const offsets = (o: Partial<typeof CLOCK_OFFSETS_DEFAULTS> = {}): ClockOffsets => new ClockOffsets({ ...CLOCK_OFFSETS_DEFAULTS, ...o, limitMs: LIMIT });

describe('ClockOffsets', () => {
  it('median of an odd and an even count, and of nothing', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });

  it('a peer\'s offset stays within the jitter of its true offset, whatever a minority of delayed samples say', () => {
    fc.assert(fc.property(
      fc.integer({ min: -3_600_000, max: 3_600_000 }),
      fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 16, maxLength: 16 }),
      fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 7 }),
      (truth, jitter, delayed) => {
        const o = offsets();
        const late = new Set(delayed);
        jitter.forEach((j, i) => o.sample('p', truth + j + (late.has(i) ? 20_000 : 0), i));
        const got = o.offset('p')?.offsetMs ?? Number.NaN;
        // fewer than half the samples are delayed, so the median is one of the honest ones or between two
        expect(Math.abs(got - truth)).toBeLessThanOrEqual(20_050);
        if (late.size === 0) expect(Math.abs(got - truth)).toBeLessThanOrEqual(50);
        expect(o.offset('p')?.beyond).toBe(Math.abs(got) > LIMIT);
      },
    ));
  });

  it('follows a bump once most of the kept samples show it', () => {
    const o = offsets();
    for (let i = 0; i < 16; i++) o.sample('p', 10, i);
    for (let i = 0; i < 8; i++) o.sample('p', 400_010, 16 + i);
    // half and half: the median is between the two
    expect(o.offset('p')).toMatchObject({ offsetMs: 200_010, beyond: false });
    o.sample('p', 400_010, 30);
    expect(o.offset('p')).toMatchObject({ offsetMs: 400_010, beyond: true });
    // and back
    for (let i = 0; i < 9; i++) o.sample('p', 0, 40 + i);
    expect(o.offset('p')?.beyond).toBe(false);
  });

  it('this node disagrees when most fresh peers are past the limit, not when one is', () => {
    const o = offsets({ freshMs: 1_000 });
    o.sample('a', 301_000, 0);
    o.sample('b', 2_000, 0);
    o.sample('c', -1_000, 0);
    expect(o.verdict(0)).toMatchObject({ peers: 3, beyond: 1, disagrees: false, limitMs: LIMIT });
    o.sample('b', 305_000, 10);
    o.sample('b', 305_000, 10);
    expect(o.verdict(10)).toMatchObject({ peers: 3, beyond: 2, disagrees: true, medianMs: 301_000 });
    // c and a go quiet (dead, gone): only b is fresh, and it is beyond
    o.sample('b', 305_000, 2_000);
    expect(o.verdict(2_000)).toMatchObject({ peers: 1, beyond: 1, disagrees: true });
    expect(o.fresh(2_000).map((x) => x.peer)).toEqual(['b']);
    expect(o.verdict(10_000)).toMatchObject({ peers: 0, beyond: 0, disagrees: false, medianMs: 0 });
  });

  it('ignores samples that are not numbers and stays bounded in peers', () => {
    const o = offsets({ maxPeers: 3 });
    o.sample('x', Number.NaN, 0);
    expect(o.offset('x')).toBeUndefined();
    for (const p of ['a', 'b', 'c', 'd']) o.sample(p, 1, 0);
    expect(o.all().map((x) => x.peer)).toEqual(['b', 'c', 'd']);
    o.sample('b', 1, 1);
    o.sample('e', 1, 1);
    expect(o.all().map((x) => x.peer).sort()).toEqual(['b', 'd', 'e']);
    o.forget('d');
    expect(o.offset('d')).toBeUndefined();
  });
});
