/**
 * At-rest integrity: every stored body carries a crc32 per CHUNK_BYTES chunk,
 * computed as it was written, so a read verifies each chunk before sending
 * it and a flipped byte is caught before it leaves the node. (The sha256 of
 * the whole body names the version; crc32 per chunk is what lets a range be
 * checked without hashing the whole body.)
 */
import { crc32 } from 'node:zlib';

export const CHUNK_BYTES = 256 * 1024;

/** Accumulates crc32s over a byte stream cut into CHUNK_BYTES chunks. */
export class ChunkChecksummer {
  private readonly sums: number[] = [];
  private current = 0;
  private filled = 0;

  update(data: Buffer): void {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(CHUNK_BYTES - this.filled, data.length - offset);
      this.current = crc32(data.subarray(offset, offset + take), this.current);
      this.filled += take;
      offset += take;
      if (this.filled === CHUNK_BYTES) {
        this.sums.push(this.current);
        this.current = 0;
        this.filled = 0;
      }
    }
  }

  /** The packed checksums (u32 big-endian each, base64) once all data is in. */
  finish(): string {
    if (this.filled > 0) {
      this.sums.push(this.current);
      this.filled = 0;
      this.current = 0;
    }
    return packChecksums(this.sums);
  }
}

export function packChecksums(sums: readonly number[]): string {
  const out = Buffer.allocUnsafe(sums.length * 4);
  sums.forEach((s, i) => out.writeUInt32BE(s, i * 4));
  return out.toString('base64');
}

export function unpackChecksums(packed: string): number[] {
  const raw = Buffer.from(packed, 'base64');
  const out: number[] = [];
  for (let i = 0; i + 4 <= raw.length; i += 4) out.push(raw.readUInt32BE(i));
  return out;
}

export function chunkCount(size: number): number {
  return Math.ceil(size / CHUNK_BYTES);
}
