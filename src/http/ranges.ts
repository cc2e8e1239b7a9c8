/**
 * Byte ranges (RFC 9110 §14): the Range header is parsed by `range-parser`
 * (the parser express and send use); overlapping ranges are combined; a
 * multi-range answer is `multipart/byteranges` with an exact Content-Length.
 */
import rangeParser from 'range-parser';
import { randomBytes } from 'node:crypto';
import { CdnError } from '../errors.js';

/** More ranges than this (after combining) and the whole body is sent, as nginx's max_ranges does. */
export const MAX_RANGES = 16;

export interface ByteRange {
  start: number;
  end: number;
}

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'ranges'; ranges: ByteRange[] };

/** What to send for `header` against a body of `size` bytes; throws 400/416 errors. */
export function decideRanges(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  if (header.length > 4096) throw new CdnError('CDN_ERR_BAD_RANGE', 'Range header is longer than 4096 characters');
  const parsed = rangeParser(size, header, { combine: true });
  if (parsed === -2) throw new CdnError('CDN_ERR_BAD_RANGE', `Range "${header.slice(0, 80)}" is malformed`);
  if (parsed === -1) throw new CdnError('CDN_ERR_RANGE_NOT_SATISFIABLE', `no range of "${header.slice(0, 80)}" overlaps the ${size} bytes of the body`, { details: { size } });
  if (parsed.type !== 'bytes') throw new CdnError('CDN_ERR_BAD_RANGE', `Range unit "${parsed.type}" is not bytes`);
  if (parsed.length > MAX_RANGES) return { kind: 'full' };
  return { kind: 'ranges', ranges: parsed.map((r) => ({ start: r.start, end: r.end })) };
}

export interface MultipartPlan {
  contentType: string;
  contentLength: number;
  /** the part headers to write before each range's bytes */
  heads: Buffer[];
  tail: Buffer;
}

export function planMultipart(ranges: ByteRange[], size: number, partType: string): MultipartPlan {
  const boundary = randomBytes(12).toString('hex');
  const heads = ranges.map((r, i) => Buffer.from(
    `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${partType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
  ));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const contentLength = heads.reduce((n, h) => n + h.length, 0) + tail.length + ranges.reduce((n, r) => n + r.end - r.start + 1, 0);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, contentLength, heads, tail };
}
