import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildSchedule, CLOCK_LIMITS, clockResidueMs, countKinds, driftGainMs, FAULT_KINDS, LOSS_LIMITS, maxDownBound, MIN_DURATION_MS, SCHEDULE_DEFAULTS, type FaultEvent,
} from '../../../tools/chaos/schedule.js';

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

  it('injects every kind, the clock and loss kinds too, in short runs and long ones, for many seeds', () => {
    for (const durationMs of [MIN_DURATION_MS, 20_000, 60_000, 300_000]) {
      for (let seed = 0; seed < 300; seed++) {
        const counts = countKinds(buildSchedule({ seed, durationMs, nodes: 5, replicas: 3, maxDown: 2 }));
        for (const kind of ['clock-bump', 'clock-drift', 'loss'] as const) expect(counts[kind], `${kind}, seed ${seed}, ${durationMs} ms`).toBeGreaterThan(0);
        for (const kind of FAULT_KINDS) expect(counts[kind], `${kind}, seed ${seed}, ${durationMs} ms`).toBeGreaterThan(0);
      }
    }
  });

  it('skews one clock at a time, bumps by 30..262 s either way, and drifts 1.5..3x gaining at most 200 s', () => {
    const signs = new Set<number>();
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: MIN_DURATION_MS, max: 600_000 }), fc.integer({ min: 3, max: 9 }), (seed, durationMs, nodes) => {
      const clocks = buildSchedule({ seed, durationMs, nodes, replicas: 3, maxDown: 2 }).filter((e) => e.kind === 'clock-bump' || e.kind === 'clock-drift');
      for (const [i, e] of clocks.entries()) {
        expect(e.nodes).toHaveLength(1);
        expect(e.nodes[0]).toBeGreaterThanOrEqual(0);
        expect(e.nodes[0]).toBeLessThan(nodes);
        // the next one starts after this one has ended, with room for the node to read its file again (polled every 200 ms)
        const next = clocks[i + 1];
        if (next !== undefined) expect(next.atMs - (e.atMs + e.durationMs)).toBeGreaterThanOrEqual(500);
        if (e.kind === 'clock-bump') {
          const offset = e.clockOffsetMs as number;
          signs.add(Math.sign(offset));
          expect(Math.abs(offset)).toBeGreaterThanOrEqual(CLOCK_LIMITS.minBumpMs);
          expect(Math.abs(offset)).toBeLessThanOrEqual(262_000);
          expect(e.clockRate).toBeUndefined();
        } else {
          expect(e.clockRate).toBeGreaterThanOrEqual(1.5);
          expect(e.clockRate).toBeLessThanOrEqual(3);
          expect(driftGainMs(e)).toBeGreaterThan(0);
          expect(driftGainMs(e)).toBeLessThanOrEqual(200_000);
          expect(e.clockOffsetMs).toBeUndefined();
        }
      }
    }), { numRuns: 300 });
    expect([...signs].sort()).toEqual([-1, 1]);
  });

  it('keeps every version stamp within 262 s of every clock: a bump back leaves room for what earlier forward skews stamped ahead', () => {
    let shrunk = 0;
    for (let seed = 0; seed < 400; seed++) {
      const clocks = buildSchedule({ seed, durationMs: 600_000, nodes: 5, replicas: 3, maxDown: 2 }).filter((e) => e.kind.startsWith('clock'));
      for (const [i, e] of clocks.entries()) {
        const back = Math.max(0, -(e.clockOffsetMs ?? 0));
        // the residue, computed by hand: each earlier forward skew, aged by real time since it ended
        let residue = 0;
        for (const before of clocks.slice(0, i)) {
          const ahead = before.kind === 'clock-bump' ? Math.max(0, before.clockOffsetMs ?? 0) : ((before.clockRate ?? 1) - 1) * before.durationMs;
          residue = Math.max(residue, ahead - (e.atMs - (before.atMs + before.durationMs)));
        }
        expect(clockResidueMs(clocks, e.atMs)).toBeCloseTo(Math.max(0, residue), -1);
        expect(back + Math.max(0, residue)).toBeLessThanOrEqual(CLOCK_LIMITS.maxSkewMs + 1);
        if (back > 0 && residue > 0 && back + residue >= CLOCK_LIMITS.maxSkewMs - 1) shrunk++;
      }
    }
    // the rule is not vacuous: some bumps back were cut to the room left
    expect(shrunk).toBeGreaterThan(0);
  });

  it('draws loss episodes at 20 % on a proper subset of the node pairs, 10–30 s long when the run has room', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: MIN_DURATION_MS, max: 600_000 }), fc.integer({ min: 3, max: 9 }), (seed, durationMs, nodes) => {
      const losses = buildSchedule({ seed, durationMs, nodes, replicas: 3, maxDown: 2 }).filter((e) => e.kind === 'loss');
      const pairs = (nodes * (nodes - 1)) / 2;
      for (const [i, e] of losses.entries()) {
        expect(e.lossRate).toBe(LOSS_LIMITS.rate);
        expect(e.lossRate).toBe(0.2);
        const links = e.links ?? [];
        expect(links.length).toBeGreaterThan(0);
        expect(links.length).toBeLessThan(pairs);
        expect(new Set(links.map(([a, b]) => `${a}-${b}`)).size).toBe(links.length);
        for (const [a, b] of links) {
          expect(a).toBeGreaterThanOrEqual(0);
          expect(a).toBeLessThan(b);
          expect(b).toBeLessThan(nodes);
        }
        expect(e.nodes).toEqual([...new Set(links.flat())].sort((x, y) => x - y));
        expect(e.durationMs).toBeLessThanOrEqual(30_000);
        // 10 s at least, unless the run is too short to hold that much (then 3/4 of its one slot)
        if (durationMs >= 14_000) expect(e.durationMs).toBeGreaterThanOrEqual(10_000);
        else expect(e.durationMs).toBeGreaterThanOrEqual(Math.round(durationMs * 0.75) - 1);
        const next = losses[i + 1];
        if (next !== undefined) expect(next.atMs).toBeGreaterThanOrEqual(e.atMs + e.durationMs);
      }
    }), { numRuns: 300 });
  });

  it('keeps the other lanes\' schedules as they were before the clock and loss lanes', () => {
    // The new lanes fork their generators after the others, so a seed replays the same process, network and
    // service faults as before them: seed 42's first six, as the schedule drew them before the clock and loss lanes.
    const events = buildSchedule({ seed: 42, durationMs: 60_000, nodes: 5, replicas: 3, maxDown: 2 })
      .filter((e) => !['clock-bump', 'clock-drift', 'loss'].includes(e.kind)).map((e) => `${e.kind}@${e.atMs}`);
    expect(events.slice(0, 6)).toEqual(['pause@117', 'partition-halves@332', 'kill@601', 'postgres-restart@2298', 'kill@6082', 'partition-bridge@9218']);
  });

  it('refuses runs too short for every kind, and impossible node counts', () => {
    expect(() => buildSchedule({ seed: 1, durationMs: 5_000, nodes: 5, replicas: 3, maxDown: 2 })).toThrow(RangeError);
    expect(() => buildSchedule({ seed: 1, durationMs: 30_000, nodes: 2, replicas: 3, maxDown: 1 })).toThrow(RangeError);
    expect(() => buildSchedule({ seed: 1, durationMs: 30_000, nodes: 5, replicas: 3, maxDown: 5 })).toThrow(RangeError);
  });
});
