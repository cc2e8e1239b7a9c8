import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FORWARD_DRIFT_MS,
  HlcDriftError,
  HybridLogicalClock,
  MAX_HLC_LOGICAL,
  compareHlc,
  isHlcTimestamp,
} from '../../../src/consensus/index.js';
import type { HlcTimestamp } from '../../../src/consensus/index.js';
import { RUNS } from './arbitraries.js';

/** A physical clock the test sets by hand. */
function manualClock(start = 1_000): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (next) => { t = next; } };
}

type Op =
  | { readonly kind: 'now'; readonly physical: number }
  | { readonly kind: 'observe'; readonly physical: number; readonly remote: HlcTimestamp };

const DRIFT = 1_000;
const physicalArb = fc.integer({ min: 0, max: 20_000 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('now' as const), physical: physicalArb }),
  fc.record({
    kind: fc.constant('observe' as const),
    physical: physicalArb,
    // up to 2 × DRIFT ahead of a physical time: some observations are refused
    remote: fc.record({ wall: fc.integer({ min: 0, max: 20_000 + 2 * DRIFT }), logical: fc.integer({ min: 0, max: 5 }) }),
  }),
);

describe('compareHlc', () => {
  it('orders by wall, then logical', () => {
    expect(compareHlc({ wall: 1, logical: 9 }, { wall: 2, logical: 0 })).toBe(-1);
    expect(compareHlc({ wall: 2, logical: 1 }, { wall: 2, logical: 0 })).toBe(1);
    expect(compareHlc({ wall: 2, logical: 1 }, { wall: 2, logical: 1 })).toBe(0);
  });

  it('is an antisymmetric total order', () => {
    const t = fc.record({ wall: fc.integer({ min: 0, max: 3 }), logical: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(t, t, t, (a, b, c) => {
        expect(compareHlc(a, b)).toBe(-compareHlc(b, a) || 0);
        if (compareHlc(a, b) <= 0 && compareHlc(b, c) <= 0) expect(compareHlc(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('isHlcTimestamp', () => {
  it.each([
    [{ wall: 0, logical: 0 }, true],
    [{ wall: Number.MAX_SAFE_INTEGER, logical: MAX_HLC_LOGICAL }, true],
    [{ wall: -1, logical: 0 }, false],
    [{ wall: 1.5, logical: 0 }, false],
    [{ wall: Number.MAX_SAFE_INTEGER + 1, logical: 0 }, false],
    [{ wall: 0, logical: MAX_HLC_LOGICAL + 1 }, false],
    [{ wall: 0, logical: -1 }, false],
    [{ wall: '1', logical: 0 }, false],
    [{ wall: 1 }, false],
    [null, false],
    [1, false],
  ])('%j → %s', (x, ok) => {
    expect(isHlcTimestamp(x)).toBe(ok);
  });
});

describe('HybridLogicalClock', () => {
  it('follows the physical clock when it moves forward', () => {
    const p = manualClock(1_000);
    const hlc = new HybridLogicalClock(p.now);
    expect(hlc.peek()).toEqual({ wall: 0, logical: 0 });
    expect(hlc.now()).toEqual({ wall: 1_000, logical: 0 });
    expect(hlc.now()).toEqual({ wall: 1_000, logical: 1 });
    p.set(1_005);
    expect(hlc.now()).toEqual({ wall: 1_005, logical: 0 });
    expect(hlc.peek()).toEqual({ wall: 1_005, logical: 0 });
  });

  it('keeps increasing when the physical clock goes backwards', () => {
    const p = manualClock(5_000);
    const hlc = new HybridLogicalClock(p.now);
    hlc.now();
    p.set(1_000);
    expect(hlc.now()).toEqual({ wall: 5_000, logical: 1 });
  });

  it('observe moves past a remote timestamp within the drift bound', () => {
    const p = manualClock(1_000);
    const hlc = new HybridLogicalClock(p.now);
    expect(hlc.observe({ wall: 1_500, logical: 7 })).toEqual({ wall: 1_500, logical: 8 });
    expect(hlc.now()).toEqual({ wall: 1_500, logical: 9 });
    expect(hlc.observe({ wall: 10, logical: 0 })).toEqual({ wall: 1_500, logical: 10 });
    p.set(2_000);
    expect(hlc.observe({ wall: 1_999, logical: 3 })).toEqual({ wall: 2_000, logical: 0 });
  });

  it('refuses a remote timestamp too far ahead, leaving the clock unchanged', () => {
    const p = manualClock(1_000);
    const hlc = new HybridLogicalClock(p.now);
    const before = hlc.now();
    expect(() => hlc.observe({ wall: 1_000 + DEFAULT_MAX_FORWARD_DRIFT_MS + 1, logical: 0 })).toThrow(HlcDriftError);
    expect(hlc.peek()).toEqual(before);
    expect(hlc.observe({ wall: 1_000 + DEFAULT_MAX_FORWARD_DRIFT_MS, logical: 0 }).wall).toBe(1_000 + DEFAULT_MAX_FORWARD_DRIFT_MS);

    const strict = new HybridLogicalClock(p.now, { maxForwardDriftMs: 0 });
    expect(() => strict.observe({ wall: 1_001, logical: 0 })).toThrow(/ahead/);
  });

  it('rejects a malformed remote timestamp and bad options', () => {
    const hlc = new HybridLogicalClock(() => 1);
    expect(() => hlc.observe({ wall: -1, logical: 0 })).toThrow(TypeError);
    expect(() => new HybridLogicalClock(() => 1, { maxForwardDriftMs: -1 })).toThrow(RangeError);
  });

  it('moves to the next millisecond when logical would overflow', () => {
    const hlc = new HybridLogicalClock(() => 1_000);
    expect(hlc.observe({ wall: 1_000, logical: MAX_HLC_LOGICAL })).toEqual({ wall: 1_001, logical: 0 });
    expect(hlc.now()).toEqual({ wall: 1_001, logical: 1 });
  });

  it('ignores a physical clock that returns garbage, and truncates fractions', () => {
    let value = Number.NaN;
    const hlc = new HybridLogicalClock(() => value);
    expect(hlc.now()).toEqual({ wall: 0, logical: 1 });
    value = -5;
    expect(hlc.now()).toEqual({ wall: 0, logical: 2 });
    value = 10.9;
    expect(hlc.now()).toEqual({ wall: 10, logical: 0 });
  });

  it('is strictly monotonic, ahead of what it observed, and never behind physical time, under any physical clock', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const p = manualClock(0);
        const hlc = new HybridLogicalClock(p.now, { maxForwardDriftMs: DRIFT });
        let last = hlc.peek();
        let maxSeen = 0; // largest physical or accepted remote wall so far
        for (const op of ops) {
          p.set(op.physical);
          let t: HlcTimestamp;
          if (op.kind === 'now') {
            t = hlc.now();
          } else if (op.remote.wall > op.physical + DRIFT) {
            expect(() => hlc.observe(op.remote)).toThrow(HlcDriftError);
            expect(hlc.peek()).toEqual(last);
            continue;
          } else {
            t = hlc.observe(op.remote);
            expect(compareHlc(t, op.remote)).toBe(1);
            maxSeen = Math.max(maxSeen, op.remote.wall);
          }
          maxSeen = Math.max(maxSeen, op.physical);
          expect(isHlcTimestamp(t)).toBe(true);
          expect(compareHlc(t, last)).toBe(1);
          expect(t.wall).toBeGreaterThanOrEqual(op.physical);
          expect(t.wall).toBe(maxSeen); // wall is the largest time seen: HLC stays close to physical time
          expect(hlc.peek()).toEqual(t);
          last = t;
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('HybridLogicalClock under clock faults', () => {
  it('bumped back 262 s it keeps its lead and never issues a smaller timestamp; bumped forward it follows at once', () => {
    let physical = 10_000_000;
    const hlc = new HybridLogicalClock(() => physical, { maxForwardDriftMs: 300_000 });
    const before = hlc.now();
    physical -= 262_000;
    const after = hlc.now();
    expect(compareHlc(after, before)).toBe(1);
    expect(after.wall).toBe(before.wall);
    physical += 262_000 + 262_000;
    expect(hlc.now().wall).toBe(physical);
  });

  it('a peer running fast is followed up to the skew limit and refused past it, leaving the clock where it was', () => {
    const physical = 10_000_000;
    const hlc = new HybridLogicalClock(() => physical, { maxForwardDriftMs: 300_000 });
    // a drifting peer: 1.5x, 10 minutes after a common start
    const drifting = (elapsedMs: number) => ({ wall: physical + Math.floor(elapsedMs * 0.5), logical: 0 });
    expect(hlc.observe(drifting(600_000)).wall).toBe(physical + 300_000);
    const held = hlc.peek();
    expect(() => hlc.observe(drifting(600_002))).toThrow(HlcDriftError);
    expect(hlc.peek()).toEqual(held);
    // an hour ahead: refused, and our clock does not move
    expect(() => hlc.observe({ wall: physical + 3_600_000, logical: 0 })).toThrow(/3600000 ms ahead of the local clock \(limit 300000 ms\)/);
    expect(hlc.peek()).toEqual(held);
  });
});
