import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decideRanges, MAX_RANGES, planMultipart } from '../../../src/http/ranges.js';

describe('decideRanges', () => {
  it('full body without a Range header', () => {
    expect(decideRanges(undefined, 10)).toEqual({ kind: 'full' });
  });

  it('combines overlapping ranges and keeps them inside the body', () => {
    expect(decideRanges('bytes=0-4,3-7', 100)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 7 }] });
    expect(decideRanges('bytes=90-200', 100)).toEqual({ kind: 'ranges', ranges: [{ start: 90, end: 99 }] });
  });

  it('sends the whole body past MAX_RANGES distinct ranges', () => {
    const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
    expect(decideRanges(`bytes=${many}`, 10_000)).toEqual({ kind: 'full' });
  });

  it('throws 416 for unsatisfiable and 400 for malformed ranges', () => {
    expect(() => decideRanges('bytes=50-60', 10)).toThrow(expect.objectContaining({ code: 'CDN_ERR_RANGE_NOT_SATISFIABLE' }));
    expect(() => decideRanges('bytes=a-b', 10)).toThrow(expect.objectContaining({ code: 'CDN_ERR_BAD_RANGE' }));
    expect(() => decideRanges('items=0-1', 10)).toThrow(expect.objectContaining({ code: 'CDN_ERR_BAD_RANGE' }));
  });

  it('every range it returns lies inside the body (property)', () => {
    fc.assert(fc.property(fc.nat(1_000_000), fc.array(fc.tuple(fc.nat(2_000_000), fc.nat(2_000_000)), { minLength: 1, maxLength: 20 }), (size, pairs) => {
      const header = `bytes=${pairs.map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`).join(',')}`;
      let decision;
      try {
        decision = decideRanges(header, size);
      } catch {
        return true;
      }
      if (decision.kind === 'full') return true;
      return decision.ranges.every((r) => r.start >= 0 && r.end < size && r.start <= r.end);
    }), { numRuns: 2000 });
  });
});

describe('planMultipart', () => {
  it('Content-Length equals the bytes that will be written', () => {
    const ranges = [{ start: 0, end: 9 }, { start: 20, end: 29 }];
    const plan = planMultipart(ranges, 100, 'text/plain');
    const written = plan.heads.reduce((n, h) => n + h.length, 0) + plan.tail.length + 20;
    expect(plan.contentLength).toBe(written);
    expect(plan.contentType).toMatch(/^multipart\/byteranges; boundary=[0-9a-f]{24}$/);
  });
});
