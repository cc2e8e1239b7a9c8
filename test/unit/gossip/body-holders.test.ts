import { describe, expect, it } from 'vitest';
import { BodyHolders } from '../../../src/gossip/core/body-holders.js';

describe('BodyHolders', () => {
  it('lists the origin first, then the others in the order they were learned', () => {
    const h = new BodyHolders(10, 5);
    h.add('s', 'p1');
    h.add('s', 'origin', true);
    h.add('s', 'p2');
    h.add('s', 'p1');
    expect(h.holders('s')).toEqual(['origin', 'p1', 'p2']);
    expect(h.holders('unknown')).toEqual([]);
  });

  it('keeps at most maxHoldersPerBody, always keeping the origin', () => {
    const h = new BodyHolders(10, 3);
    h.add('s', 'origin', true);
    for (const p of ['p1', 'p2', 'p3', 'p4']) h.add('s', p);
    expect(h.holders('s')).toEqual(['origin', 'p3', 'p4']);
  });

  it('evicts the least recently touched body at capacity', () => {
    const h = new BodyHolders(2, 3);
    h.add('s1', 'p');
    h.add('s2', 'p');
    h.add('s1', 'q');
    h.add('s3', 'p');
    expect(h.size).toBe(2);
    expect(h.holders('s2')).toEqual([]);
    expect(h.holders('s1')).toEqual(['p', 'q']);
  });

  it('forgets a holder on request', () => {
    const h = new BodyHolders(10, 3);
    h.add('s', 'origin', true);
    h.add('s', 'p');
    h.remove('s', 'origin');
    expect(h.holders('s')).toEqual(['p']);
    h.remove('s', 'p');
    expect(h.size).toBe(0);
  });
});
