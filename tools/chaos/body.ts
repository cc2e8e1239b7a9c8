/**
 * Self-describing chaos bodies: a one-line header naming the key, the write
 * and the payload's length and sha256, then the payload. Any body a node
 * serves can be checked on its own for completeness and for which write it
 * is, so a partial or corrupt body is caught the moment it is served.
 *
 *   chaos1 <key> <writeId> <payload length> <payload sha256 hex>\n<payload>
 */
import { createHash, randomBytes } from 'node:crypto';

const MAGIC = 'chaos1';
/** The longest header line accepted (a GUID, a write id, a length, a hex digest). */
const MAX_HEADER_BYTES = 256;

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A body for write `writeId` of `key` with a random payload of `payloadBytes` bytes. */
export function makeBody(key: string, writeId: string, payloadBytes: number): Buffer {
  const payload = randomBytes(payloadBytes);
  const header = Buffer.from(`${MAGIC} ${key} ${writeId} ${payloadBytes} ${sha256Hex(payload)}\n`, 'utf8');
  return Buffer.concat([header, payload]);
}

export type BodyCheck =
  | { ok: true; key: string; writeId: string }
  | { ok: false; problem: string };

/** Checks a served body: a whole chaos body of `key`, its payload intact. */
export function checkBody(body: Buffer, key: string): BodyCheck {
  const newline = body.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
  if (newline < 0) return { ok: false, problem: `no header line in the first ${Math.min(body.length, MAX_HEADER_BYTES)} bytes (body of ${body.length} bytes)` };
  const fields = body.subarray(0, newline).toString('utf8').split(' ');
  const [magic, bodyKey, writeId, lengthText, digest] = fields;
  if (fields.length !== 5 || magic !== MAGIC || bodyKey === undefined || writeId === undefined || digest === undefined || !/^\d+$/.test(lengthText ?? '')) {
    return { ok: false, problem: 'malformed header line' };
  }
  if (bodyKey !== key) return { ok: false, problem: `body of key ${bodyKey} served for ${key}` };
  const payload = body.subarray(newline + 1);
  if (payload.length !== Number(lengthText)) return { ok: false, problem: `payload of ${payload.length} bytes, header says ${lengthText} (write ${writeId})` };
  if (sha256Hex(payload) !== digest) return { ok: false, problem: `payload sha256 does not match the header (write ${writeId})` };
  return { ok: true, key, writeId };
}
