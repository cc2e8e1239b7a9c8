import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_SHA256, MAX_HLC_LOGICAL, hlcSchema, sameVersion, vectorClockSchema, versionSchema } from '../../../src/consensus/index.js';
import { KEY, RUNS, versionArb } from './arbitraries.js';

const A = 'n3f9a0c41d2e8b7a6';

const valid = {
  key: KEY,
  clock: { [A]: 2, n8812de0f9c3b1a27: 0 },
  timestamp: { wall: 1_700_000_000_000, logical: 3 },
  origin: A,
  sha256: 'ab'.repeat(32),
  size: 12,
  contentType: 'text/plain; charset=utf-8',
  cacheControl: 'max-age=60',
  tombstone: false,
};

describe('vectorClockSchema', () => {
  it('normalizes', () => {
    const c = vectorClockSchema.parse({ n8812de0f9c3b1a27: 1, [A]: 2, n0000000000000001: 0 });
    expect(Object.keys(c)).toEqual([A, 'n8812de0f9c3b1a27']);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['an own __proto__ key', JSON.parse('{"__proto__": 1}') as unknown],
    ['a bad key', { n1: 1 }],
    ['a negative counter', { [A]: -1 }],
    ['a string counter', { [A]: '1' }],
    ['an array', [1]],
    ['null', null],
    ['a string', 'n3f9a0c41d2e8b7a6=1'],
  ])('rejects %s', (_what, input) => {
    const r = vectorClockSchema.safeParse(input);
    expect(r.success).toBe(false);
  });
});

describe('hlcSchema', () => {
  it('accepts the bounds and rejects what is outside them', () => {
    expect(hlcSchema.parse({ wall: 0, logical: MAX_HLC_LOGICAL })).toEqual({ wall: 0, logical: MAX_HLC_LOGICAL });
    expect(hlcSchema.safeParse({ wall: 0, logical: MAX_HLC_LOGICAL + 1 }).success).toBe(false);
    expect(hlcSchema.safeParse({ wall: -1, logical: 0 }).success).toBe(false);
    expect(hlcSchema.safeParse({ wall: 1.5, logical: 0 }).success).toBe(false);
    expect(hlcSchema.safeParse({ wall: 1, logical: 0, extra: 1 }).success).toBe(false);
  });
});

describe('versionSchema', () => {
  it('parses a valid version into a frozen, normalized Version', () => {
    const v = versionSchema.parse(valid);
    expect(v).toEqual({ ...valid, clock: { [A]: 2 } });
    expect(Object.isFrozen(v)).toBe(true);
  });

  it('leaves out cacheControl when none was given', () => {
    const { cacheControl: _omit, ...rest } = valid;
    expect('cacheControl' in versionSchema.parse(rest)).toBe(false);
  });

  it('accepts a tombstone with the empty digest', () => {
    expect(versionSchema.parse({ ...valid, tombstone: true, size: 0, sha256: EMPTY_SHA256 }).tombstone).toBe(true);
  });

  it.each([
    ['an unknown field', { extra: 1 }],
    ['an upper-case key', { key: KEY.toUpperCase() }],
    ['a key that is not a UUID', { key: 'not-a-uuid' }],
    ['a bad origin', { origin: 'n1' }],
    ['an upper-case sha256', { sha256: 'AB'.repeat(32) }],
    ['a short sha256', { sha256: 'ab' }],
    ['a negative size', { size: -1 }],
    ['a fractional size', { size: 1.5 }],
    ['an unsafe size', { size: 2 ** 53 }],
    ['an empty contentType', { contentType: '' }],
    ['a 256-character contentType', { contentType: 'a'.repeat(256) }],
    ['a control character in contentType', { contentType: 'text/plain\r\nX-Evil: 1' }],
    ['a 256-character cacheControl', { cacheControl: 'a'.repeat(256) }],
    ['a non-ASCII cacheControl', { cacheControl: 'max-âge=1' }],
    ['a tombstone with a body', { tombstone: true }],
    ['a string tombstone flag', { tombstone: 'false' }],
    ['a bad clock', { clock: { n1: 1 } }],
    ['a bad timestamp', { timestamp: { wall: -1, logical: 0 } }],
  ])('rejects %s', (_what, patch) => {
    expect(versionSchema.safeParse({ ...valid, ...patch }).success).toBe(false);
  });

  it('rejects a missing field', () => {
    const { origin: _omit, ...rest } = valid;
    expect(versionSchema.safeParse(rest).success).toBe(false);
  });

  it('round-trips through JSON', () => {
    fc.assert(
      fc.property(versionArb, (v) => {
        const parsed = versionSchema.parse(JSON.parse(JSON.stringify(v)));
        expect(parsed).toEqual(v);
        expect(sameVersion(parsed, v)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
