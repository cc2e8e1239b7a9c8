import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_CLOCK_COUNTER,
  MAX_CLOCK_ENTRIES,
  MAX_VECTOR_CLOCK_HEADER_BYTES,
  VectorClockError,
  clockKey,
  compareClocks,
  descends,
  dominates,
  formatVectorClockHeader,
  incrementClock,
  mergeClocks,
  normalizeClock,
  parseVectorClockHeader,
} from '../../../src/consensus/index.js';
import type { VectorClock } from '../../../src/consensus/index.js';
import { NODES, RUNS, anyNodeIdArb, clockArb, nodeIdArb } from './arbitraries.js';

const A = 'n3f9a0c41d2e8b7a6';
const B = 'n8812de0f9c3b1a27';

/** A clock of up to MAX_CLOCK_ENTRIES random node ids with counters up to the maximum. */
const wideClockArb: fc.Arbitrary<VectorClock> = fc
  .dictionary(anyNodeIdArb, fc.integer({ min: 0, max: MAX_CLOCK_COUNTER }), { maxKeys: MAX_CLOCK_ENTRIES })
  .map((d) => normalizeClock(d));

const mirror = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;

describe('normalizeClock', () => {
  it('drops zero entries, sorts keys and freezes', () => {
    const c = normalizeClock({ [B]: 1, [A]: 2, n0000000000000001: 0 });
    expect(Object.keys(c)).toEqual([A, B]);
    expect(c).toEqual({ [A]: 2, [B]: 1 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(normalizeClock({})).toEqual({});
  });

  it('reads own keys only', () => {
    const inherited = Object.create({ [A]: 5 }) as Record<string, number>;
    expect(normalizeClock(inherited)).toEqual({});
  });

  it.each([
    ['a key that is not a node id', { n1: 1 }],
    ['an upper-case node id', { N3F9A0C41D2E8B7A6: 1 }],
    ['a 17-digit node id', { n3f9a0c41d2e8b7a60: 1 }],
    ['a negative counter', { [A]: -1 }],
    ['minus zero', { [A]: -0 }],
    ['a fractional counter', { [A]: 1.5 }],
    ['NaN', { [A]: Number.NaN }],
    ['Infinity', { [A]: Number.POSITIVE_INFINITY }],
    ['a counter past the maximum', { [A]: MAX_CLOCK_COUNTER + 1 }],
    ['a string counter', { [A]: '1' as unknown as number }],
    ['an own __proto__ key', JSON.parse('{"__proto__": 1}') as Record<string, number>],
    ['a constructor key', { constructor: 1 }],
    ['null', null as unknown as Record<string, number>],
    ['an array', [1] as unknown as Record<string, number>],
  ])('rejects %s', (_what, input) => {
    expect(() => normalizeClock(input)).toThrow(VectorClockError);
  });

  it(`rejects more than ${MAX_CLOCK_ENTRIES} entries`, () => {
    const big: Record<string, number> = {};
    for (let i = 0; i <= MAX_CLOCK_ENTRIES; i++) big[`n${i.toString(16).padStart(16, '0')}`] = 1;
    expect(() => normalizeClock(big)).toThrow(/at most 256 entries/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('is idempotent and keeps clock equality', () => {
    fc.assert(
      fc.property(clockArb, (c) => {
        const n = normalizeClock(c);
        expect(n).toEqual(c);
        expect(normalizeClock(n)).toEqual(n);
        expect(Object.isFrozen(n)).toBe(true);
        expect(Object.values(n).every((v) => v > 0)).toBe(true);
        expect(Object.keys(n)).toEqual([...Object.keys(n)].sort());
      }),
      { numRuns: RUNS },
    );
  });
});

describe('compareClocks, descends, dominates', () => {
  it('examples', () => {
    expect(compareClocks({}, {})).toBe('equal');
    expect(compareClocks({ [A]: 1 }, { [A]: 2 })).toBe('before');
    expect(compareClocks({ [A]: 2, [B]: 1 }, { [A]: 2 })).toBe('after');
    expect(compareClocks({ [A]: 1 }, { [B]: 1 })).toBe('concurrent');
    expect(compareClocks({ [A]: 1, [B]: 0 }, { [A]: 1 })).toBe('equal');
    expect(descends({ [A]: 1 }, {})).toBe(true);
    expect(dominates({ [A]: 1 }, { [A]: 1 })).toBe(false);
  });

  it('is antisymmetric: compare(a, b) mirrors compare(b, a)', () => {
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        expect(compareClocks(b, a)).toBe(mirror[compareClocks(a, b)]);
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with descends and dominates', () => {
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        const order = compareClocks(a, b);
        expect(descends(a, b)).toBe(order === 'after' || order === 'equal');
        expect(descends(b, a)).toBe(order === 'before' || order === 'equal');
        expect(dominates(a, b)).toBe(order === 'after');
        expect(order === 'equal').toBe(clockKey(a) === clockKey(b));
      }),
      { numRuns: RUNS },
    );
  });

  it('descends is a partial order with the empty clock at the bottom', () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
        expect(descends(a, a)).toBe(true);
        expect(descends(a, {})).toBe(true);
        if (descends(a, b) && descends(b, a)) expect(a).toEqual(b);
        if (descends(a, b) && descends(b, c)) expect(descends(a, c)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('mergeClocks', () => {
  it('is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
        expect(mergeClocks(a, b)).toEqual(mergeClocks(b, a));
        expect(mergeClocks(mergeClocks(a, b), c)).toEqual(mergeClocks(a, mergeClocks(b, c)));
        expect(mergeClocks(a, b, c)).toEqual(mergeClocks(mergeClocks(a, b), c));
        expect(mergeClocks(a, a)).toEqual(a);
      }),
      { numRuns: RUNS },
    );
  });

  it('is the least upper bound', () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
        const m = mergeClocks(a, b);
        expect(descends(m, a) && descends(m, b)).toBe(true);
        if (descends(c, a) && descends(c, b)) expect(descends(c, m)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('of nothing is the empty clock', () => {
    expect(mergeClocks()).toEqual({});
  });
});

describe('incrementClock', () => {
  it('bumps one entry by one and dominates the input', () => {
    fc.assert(
      fc.property(clockArb, nodeIdArb, (c, id) => {
        const next = incrementClock(c, id);
        expect(dominates(next, c)).toBe(true);
        expect(next[id]).toBe((c[id] ?? 0) + 1);
        for (const other of NODES) if (other !== id) expect(next[other]).toBe(c[other]);
      }),
      { numRuns: RUNS },
    );
  });

  it('rejects a malformed node id and counter overflow', () => {
    expect(() => incrementClock({}, 'n1')).toThrow(VectorClockError);
    expect(() => incrementClock({ [A]: MAX_CLOCK_COUNTER }, A)).toThrow(VectorClockError);
  });
});

describe('Vector-Clock header', () => {
  it('parses the SPEC example and formats it back', () => {
    const c = parseVectorClockHeader('n3f9a0c41d2e8b7a6=3, n8812de0f9c3b1a27=1');
    expect(c).toEqual({ [A]: 3, [B]: 1 });
    expect(formatVectorClockHeader(c)).toBe('n3f9a0c41d2e8b7a6=3, n8812de0f9c3b1a27=1');
  });

  it('treats the empty header as the empty clock, and formats the empty clock as ""', () => {
    expect(parseVectorClockHeader('')).toEqual({});
    expect(formatVectorClockHeader({})).toBe('');
    expect(formatVectorClockHeader({ [A]: 0 })).toBe('');
  });

  it('sorts keys, drops zeros, and keeps the last of a repeated key (RFC 8941)', () => {
    expect(formatVectorClockHeader(parseVectorClockHeader(`${B}=1,${A}=2, n0000000000000001=0`))).toBe(`${A}=2, ${B}=1`);
    expect(parseVectorClockHeader(`${A}=1, ${A}=4`)).toEqual({ [A]: 4 });
  });

  const entry = `${A}=1`;
  const manyEntries = (n: number): string =>
    Array.from({ length: n }, (_, i) => `n${i.toString(16).padStart(16, '0')}=1`).join(', ');

  it.each([
    ['a short key', 'n1=1'],
    ['a non-hex key', 'nXYZ0c41d2e8b7a6=1'],
    ['an upper-case key (not even RFC 8941)', 'N3F9A0C41D2E8B7A6=1'],
    ['a key with 17 digits', 'n3f9a0c41d2e8b7a60=1'],
    ['a decimal', `${A}=1.5`],
    ['a decimal with an integral value', `${A}=3.0`],
    ['a string', `${A}="3"`],
    ['a token', `${A}=abc`],
    ['a boolean', `${A}=?1`],
    ['a bare key (boolean true)', A],
    ['a byte sequence', `${A}=:AQ==:`],
    ['a date', `${A}=@1`],
    ['a display string', `${A}=%"x"`],
    ['parameters', `${A}=1;a=1`],
    ['a parameter on a later member', `${entry}, ${B}=2;x`],
    ['an inner list', `${A}=(1 2)`],
    ['an empty inner list', `${A}=()`],
    ['a negative number', `${A}=-1`],
    ['minus zero', `${A}=-0`],
    ['a counter past the maximum', `${A}=${MAX_CLOCK_COUNTER + 1}`],
    ['a 16-digit integer', `${A}=1234567890123456`],
    ['a trailing comma', `${entry},`],
    ['a missing comma', `${entry} ${B}=1`],
    ['a __proto__ key', '__proto__=1'],
    ['a constructor key', 'constructor=1'],
    ['non-ASCII', `${A}=1, né=1`],
    ['a list instead of a dictionary', '1, 2'],
    ['300 entries', manyEntries(300)],
    ['257 entries', manyEntries(257)],
    ['a 9 KiB header', `${entry},${' '.repeat(9 * 1024)}${B}=1`],
  ])('rejects %s', (_what, header) => {
    expect(() => parseVectorClockHeader(header)).toThrow(VectorClockError);
  });

  it('names the problem in the message', () => {
    expect(() => parseVectorClockHeader('n1=1')).toThrow(/not a node id/);
    expect(() => parseVectorClockHeader(`${A}=1;a=1`)).toThrow(/parameters/);
    expect(() => parseVectorClockHeader(`${A}=(1)`)).toThrow(/inner list/);
    expect(() => parseVectorClockHeader(manyEntries(300))).toThrow(/256 entries/);
    expect(() => parseVectorClockHeader('x'.repeat(MAX_VECTOR_CLOCK_HEADER_BYTES + 1))).toThrow(/8192 bytes/);
  });

  it('accepts 256 entries', () => {
    expect(Object.keys(parseVectorClockHeader(manyEntries(256)))).toHaveLength(256);
  });

  it('round-trips: parse(format(c)) equals c, for any clock up to the limits', () => {
    fc.assert(
      fc.property(clockArb, (c) => {
        expect(parseVectorClockHeader(formatVectorClockHeader(c))).toEqual(c);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(wideClockArb, (c) => {
        const text = formatVectorClockHeader(c);
        expect(text.length).toBeLessThanOrEqual(MAX_VECTOR_CLOCK_HEADER_BYTES);
        expect(parseVectorClockHeader(text)).toEqual(c);
        expect(formatVectorClockHeader(parseVectorClockHeader(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('reads any member order and any optional whitespace to the same clock', () => {
    const entriesArb = fc.uniqueArray(fc.tuple(anyNodeIdArb, fc.integer({ min: 0, max: 10 ** 6 })), {
      selector: ([k]) => k,
      maxLength: 8,
    });
    const owsArb = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 });
    fc.assert(
      fc.property(entriesArb, fc.array(fc.tuple(owsArb, owsArb), { minLength: 8, maxLength: 8 }), (entries, ows) => {
        const text = entries.map(([k, v], i) => `${i === 0 ? '' : `${ows[i]?.[0] ?? ''},${ows[i]?.[1] ?? ''}`}${k}=${v}`).join('');
        expect(parseVectorClockHeader(text)).toEqual(normalizeClock(Object.fromEntries(entries)));
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws anything but VectorClockError, and what it returns is normalized', () => {
    const headerishArb = fc.string({ unit: fc.constantFrom(...'n0123456789abcdef=,;() .-"?:*@%\t'), maxLength: 60 });
    fc.assert(
      fc.property(fc.oneof(fc.string(), headerishArb), (text) => {
        try {
          const c = parseVectorClockHeader(text);
          expect(normalizeClock(c)).toEqual(c);
        } catch (err) {
          expect(err).toBeInstanceOf(VectorClockError);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('clockKey', () => {
  it('is equal exactly for equal clocks', () => {
    expect(clockKey({})).toBe('');
    expect(clockKey({ [B]: 1, [A]: 2, n0000000000000001: 0 })).toBe(`${A}=2,${B}=1`);
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        expect(clockKey(a) === clockKey(b)).toBe(compareClocks(a, b) === 'equal');
      }),
      { numRuns: RUNS },
    );
  });
});
