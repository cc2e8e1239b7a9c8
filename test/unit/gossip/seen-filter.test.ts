import { describe, expect, it } from 'vitest';
import type { Version } from '../../../src/consensus/types.js';
import { SeenFilter, versionId } from '../../../src/gossip/core/seen-filter.js';

const KEY = '6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';

function version(clock: Record<string, number>): Version {
  return {
    key: KEY,
    clock,
    timestamp: { wall: 1, logical: 0 },
    origin: 'n0000000000000001',
    sha256: 'a'.repeat(64),
    size: 1,
    contentType: 'application/octet-stream',
    tombstone: false,
  };
}

describe('versionId', () => {
  it('is the key and the clock, whatever the order of the clock entries', () => {
    const a = versionId(version({ n0000000000000001: 1, n0000000000000002: 3 }));
    const b = versionId(version({ n0000000000000002: 3, n0000000000000001: 1 }));
    expect(a).toBe(b);
    expect(versionId(version({ n0000000000000001: 2 }))).not.toBe(a);
  });
});

describe('SeenFilter', () => {
  it('remembers which peers hold which versions', () => {
    const f = new SeenFilter(10, 4);
    f.add('p1', 'v1');
    f.add('p2', 'v1');
    f.add('p1', 'v2');
    expect(f.has('p1', 'v1')).toBe(true);
    expect(f.has('p2', 'v2')).toBe(false);
    expect([...f.peersWith('v1')]).toEqual(['p1', 'p2']);
    expect(f.peersWith('unknown').size).toBe(0);
    expect(f.size).toBe(2);
  });

  it('evicts the least recently touched version at capacity', () => {
    const f = new SeenFilter(3, 4);
    f.add('p', 'v1');
    f.add('p', 'v2');
    f.add('p', 'v3');
    f.add('q', 'v1'); // touches v1: v2 is now the oldest
    f.add('p', 'v4');
    expect(f.size).toBe(3);
    expect(f.has('p', 'v2')).toBe(false);
    expect(f.has('p', 'v1')).toBe(true);
    expect(f.has('p', 'v4')).toBe(true);
  });

  it('keeps at most maxPeersPerVersion peers, dropping the oldest', () => {
    const f = new SeenFilter(10, 2);
    f.add('p1', 'v');
    f.add('p2', 'v');
    f.add('p2', 'v'); // no duplicate
    f.add('p3', 'v');
    expect([...f.peersWith('v')]).toEqual(['p2', 'p3']);
  });

  it('stays bounded whatever one peer sends', () => {
    const f = new SeenFilter(100, 8);
    for (let i = 0; i < 10_000; i++) f.add('hostile', `v${i}`);
    for (let i = 0; i < 100; i++) f.add(`p${i}`, 'v9999');
    expect(f.size).toBe(100);
    expect(f.peersWith('v9999').size).toBe(8);
  });
});
