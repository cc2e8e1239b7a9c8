import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildSchedule, countKinds, FAULT_KINDS, maxDownBound, MIN_DURATION_MS, SCHEDULE_DEFAULTS, type FaultEvent } from '../../../tools/chaos/schedule.js';

/** Nodes out (killed, restarting or paused) at time t, counting a kill as out until it has had time to restart. */
function outAt(events: FaultEvent[], t: number): number[] {
  return events.filter((e) => (e.kind === 'kill' || e.kind === 'pause') && e.atMs <= t
    && t < e.atMs + e.durationMs + (e.kind === 'kill' ? SCHEDULE_DEFAULTS.restartAllowanceMs : 0)).map((e) => e.nodes[0] as number);
}

describe('the fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    const a = buildSchedule({ seed: 42, durationMs: 60_000, nodes: 5, replicas: 3, maxDown: 2 });
    expect(buildSchedule({ seed: 42, durationMs: 60_000, nodes: 5, replicas: 3, maxDown: 2 })).toEqual(a);
    expect(buildSchedule({ seed: 43, durationMs: 60_000, nodes: 5, replicas: 3, maxDown: 2 })).not.toEqual(a);
  });

  it('injects every kind at least once, even in the shortest run', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: MIN_DURATION_MS, max: 600_000 }), fc.integer({ min: 1, max: 2 }), (seed, durationMs, maxDown) => {
      const events = buildSchedule({ seed, durationMs, nodes: 5, replicas: 3, maxDown });
      const counts = countKinds(events);
      for (const kind of FAULT_KINDS) expect(counts[kind], kind).toBeGreaterThan(0);
      for (const e of events) {
        expect(e.atMs).toBeGreaterThanOrEqual(0);
        expect(e.atMs + e.durationMs).toBeLessThanOrEqual(durationMs);
      }
    }), { numRuns: 200 });
  });

  it('never has more than maxDown nodes out at once, and never one node twice', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: MIN_DURATION_MS, max: 300_000 }), (seed, durationMs) => {
      const events = buildSchedule({ seed, durationMs, nodes: 5, replicas: 3, maxDown: 2 });
      for (const e of events.filter((x) => x.kind === 'kill' || x.kind === 'pause')) {
        const out = outAt(events, e.atMs);
        expect(out.length).toBeLessThanOrEqual(2);
        expect(new Set(out).size).toBe(out.length);
      }
    }), { numRuns: 200 });
  });

  it('draws partitions with two non-empty sides, and a bridge on neither side', () => {
    const events = buildSchedule({ seed: 7, durationMs: 300_000, nodes: 5, replicas: 3, maxDown: 2 });
    for (const e of events.filter((x) => x.kind.startsWith('partition'))) {
      expect(e.nodes.length).toBeGreaterThan(0);
      expect(e.others.length).toBeGreaterThan(0);
      expect(e.nodes.filter((n) => e.others.includes(n))).toEqual([]);
      if (e.kind === 'partition-bridge') {
        expect(e.bridge).toBeDefined();
        expect([...e.nodes, ...e.others]).not.toContain(e.bridge);
        expect(e.nodes.length + e.others.length).toBe(4);
      } else {
        expect(e.nodes.length + e.others.length).toBe(5);
      }
    }
  });

  it('holds at most R − 1 nodes out: the bound follows --replicas, and more is refused', () => {
    expect(maxDownBound(3, 5)).toBe(2);
    expect(maxDownBound(2, 5)).toBe(1);
    expect(maxDownBound(9, 5)).toBe(4);
    expect(maxDownBound('all', 5)).toBe(4);
    expect(() => buildSchedule({ seed: 1, durationMs: 30_000, nodes: 5, replicas: 3, maxDown: 3 })).toThrow(/maxDown must be 1\.\.2/);
    expect(() => buildSchedule({ seed: 1, durationMs: 30_000, nodes: 5, replicas: 1, maxDown: 1 })).toThrow(/at least 2 owners/);
    const events = buildSchedule({ seed: 5, durationMs: 120_000, nodes: 5, replicas: 2, maxDown: 1 });
    for (const e of events.filter((x) => x.kind === 'kill' || x.kind === 'pause')) expect(outAt(events, e.atMs)).toHaveLength(1);
  });

  it('refuses runs too short for every kind, and impossible node counts', () => {
    expect(() => buildSchedule({ seed: 1, durationMs: 5_000, nodes: 5, replicas: 3, maxDown: 2 })).toThrow(RangeError);
    expect(() => buildSchedule({ seed: 1, durationMs: 30_000, nodes: 2, replicas: 3, maxDown: 1 })).toThrow(RangeError);
    expect(() => buildSchedule({ seed: 1, durationMs: 30_000, nodes: 5, replicas: 3, maxDown: 5 })).toThrow(RangeError);
  });
});
