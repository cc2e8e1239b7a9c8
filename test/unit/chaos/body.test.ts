import { describe, expect, it } from 'vitest';
import { checkBody, makeBody } from '../../../tools/chaos/body.js';

const key = '0b7f3a64-2c1e-4f5a-9a2b-3c4d5e6f7a8b';

describe('chaos bodies', () => {
  it('check whole bodies of every size, naming their write', () => {
    for (const size of [0, 1, 100, 300 * 1024]) {
      expect(checkBody(makeBody(key, 'w-1-7', size), key)).toEqual({ ok: true, key, writeId: 'w-1-7' });
    }
  });

  it('catch a truncated, a corrupted, a padded and a misplaced body', () => {
    const body = makeBody(key, 'w-2-9', 4096);
    expect(checkBody(body.subarray(0, body.length - 1), key)).toMatchObject({ ok: false, problem: expect.stringContaining('payload of') });
    expect(checkBody(body.subarray(0, 20), key)).toMatchObject({ ok: false, problem: expect.stringContaining('no header line') });
    const flipped = Buffer.from(body);
    flipped[flipped.length - 10] = (flipped[flipped.length - 10] as number) ^ 1;
    expect(checkBody(flipped, key)).toMatchObject({ ok: false, problem: expect.stringContaining('sha256') });
    expect(checkBody(Buffer.concat([body, Buffer.from('x')]), key)).toMatchObject({ ok: false });
    expect(checkBody(body, '11111111-2222-4333-8444-555555555555')).toMatchObject({ ok: false, problem: expect.stringContaining('served for') });
    expect(checkBody(Buffer.alloc(0), key)).toMatchObject({ ok: false });
  });
});
