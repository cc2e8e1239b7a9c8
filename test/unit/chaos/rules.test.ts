import { describe, expect, it } from 'vitest';
import { layered, lossRule, partitionRule } from '../../../tools/chaos/faults.js';
import type { FaultEvent } from '../../../tools/chaos/schedule.js';

const loss: FaultEvent = { atMs: 0, kind: 'loss', durationMs: 10_000, nodes: [0, 1, 3], others: [], links: [[0, 1], [1, 3]], lossRate: 0.2 };

describe('the proxy rules of the fault lanes', () => {
  it('a loss episode applies to its links only, in both directions', () => {
    const rule = lossRule(loss);
    for (const [from, to] of [[0, 1], [1, 0], [1, 3], [3, 1]] as const) expect(rule(from, to), `${from} → ${to}`).toEqual({ lossRate: 0.2 });
    for (const [from, to] of [[0, 3], [3, 0], [0, 2], [2, 1], [4, 3], [2, 4]] as const) expect(rule(from, to), `${from} → ${to}`).toEqual({});
  });

  it('layers loss over the network lane: a cut still cuts, latency and loss add up', () => {
    const halves = partitionRule({ atMs: 0, kind: 'partition-halves', durationMs: 1, nodes: [0, 1], others: [2, 3, 4], cut: 'reset' });
    const latency = partitionRule({ atMs: 0, kind: 'latency', durationMs: 1, nodes: [], others: [], latencyMs: [20, 40] });
    const lossy = lossRule(loss);
    expect(layered(undefined, undefined)).toBeUndefined();
    expect(layered(halves, undefined)).toBe(halves);
    expect(layered(undefined, lossy)).toBe(lossy);
    const both = layered(halves, lossy);
    expect(both?.(1, 3)).toEqual({ cut: 'reset', lossRate: 0.2 });
    expect(both?.(0, 1)).toEqual({ lossRate: 0.2 });
    expect(both?.(0, 4)).toEqual({ cut: 'reset' });
    expect(layered(latency, lossy)?.(3, 1)).toEqual({ latencyMs: [20, 40], lossRate: 0.2 });
    expect(layered(latency, lossy)?.(2, 4)).toEqual({ latencyMs: [20, 40] });
  });
});
