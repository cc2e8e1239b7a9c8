/**
 * The metadata log: an append-only file of framed JSON records, the one
 * durable home of the index. Frame: u32 length, u32 crc32 of the payload,
 * payload (UTF-8 JSON). Appends are group-committed: records queued while a
 * write+fdatasync is in flight go out together in the next one, and each
 * append resolves only once its bytes are on disk.
 *
 * Replay reads frames until the end or the first frame that is short or fails
 * its checksum (a torn tail after a crash, or damage); the file is truncated
 * there and the damaged tail kept beside it for inspection. Compaction writes
 * a fresh log of the live state and renames it over the old one.
 */
import { open, rename, stat, copyFile, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { dirname } from 'node:path';
import { fsyncDir } from './fs-durability.js';

const HEADER_BYTES = 8;
/** A single record larger than this is refused on write and treated as damage on replay. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

export interface ReplayResult<T> {
  records: T[];
  /** bytes cut from the end because they did not form whole, valid frames */
  truncatedBytes: number;
  /** where the damaged tail was copied, when there was one */
  damagedCopy?: string | undefined;
}

function frame(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  if (payload.length > MAX_RECORD_BYTES) throw new RangeError(`metadata record of ${payload.length} bytes exceeds ${MAX_RECORD_BYTES}`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  payload.copy(out, HEADER_BYTES);
  return out;
}

interface Pending {
  bytes: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class MetaLog<T> {
  private fh: FileHandle | undefined;
  private size = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private recordsSinceCompaction = 0;

  constructor(private readonly path: string) {}

  /** Bytes in the log file. */
  get bytes(): number {
    return this.size;
  }

  /** Records appended since the log was last written whole. */
  get appendedRecords(): number {
    return this.recordsSinceCompaction;
  }

  /** Reads every valid record, truncates a damaged tail, and opens the log for appending. */
  async open(parse: (value: unknown) => T | undefined): Promise<ReplayResult<T>> {
    const fh = await open(this.path, 'a+');
    const { size } = await fh.stat();
    const records: T[] = [];
    let offset = 0;
    const header = Buffer.alloc(HEADER_BYTES);
    while (offset + HEADER_BYTES <= size) {
      await readFully(fh, header, offset);
      const length = header.readUInt32BE(0);
      const sum = header.readUInt32BE(4);
      if (length > MAX_RECORD_BYTES || offset + HEADER_BYTES + length > size) break;
      const payload = Buffer.allocUnsafe(length);
      await readFully(fh, payload, offset + HEADER_BYTES);
      if (crc32(payload) !== sum) break;
      let value: unknown;
      try {
        value = JSON.parse(payload.toString('utf8'));
      } catch {
        break;
      }
      const record = parse(value);
      if (record !== undefined) records.push(record);
      offset += HEADER_BYTES + length;
    }
    let damagedCopy: string | undefined;
    if (offset < size) {
      damagedCopy = `${this.path}.damaged-${Date.now()}`;
      await copyFile(this.path, damagedCopy);
      await fh.truncate(offset);
      await fh.datasync();
    }
    this.fh = fh;
    this.size = offset;
    this.recordsSinceCompaction = records.length;
    return { records, truncatedBytes: size - offset, damagedCopy };
  }

  /** Appends records; resolves once they are durable. */
  append(records: readonly T[]): Promise<void> {
    if (this.fh === undefined) return Promise.reject(new Error('metadata log is not open'));
    let bytes: Buffer;
    try {
      bytes = Buffer.concat(records.map(frame));
    } catch (err) {
      return Promise.reject(err);
    }
    this.recordsSinceCompaction += records.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      if (this.flushing === undefined) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const fh = this.fh;
      try {
        if (fh === undefined) throw new Error('metadata log closed');
        const bytes = Buffer.concat(batch.map((p) => p.bytes));
        let written = 0;
        while (written < bytes.length) {
          const { bytesWritten } = await fh.write(bytes, written, bytes.length - written, this.size + written);
          written += bytesWritten;
        }
        await fh.datasync();
        this.size += bytes.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        // Nothing of this batch is acknowledged. Cut the file back to the last
        // durable size so a later append does not follow a torn frame.
        await fh?.truncate(this.size).catch(() => undefined);
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
  }

  /** Waits until every queued append has been written or failed. */
  async drain(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  /**
   * Replaces the log with `records` (the live state): written to a temp file,
   * fsync'd, renamed over the log, directory fsync'd. Appends that arrive
   * meanwhile must be held by the caller (the store holds its commit lock).
   */
  async rewrite(records: readonly T[]): Promise<void> {
    await this.drain();
    const tmp = `${this.path}.compact`;
    const out = await open(tmp, 'w');
    let size = 0;
    try {
      const chunk: Buffer[] = [];
      let chunkBytes = 0;
      for (const record of records) {
        const f = frame(record);
        chunk.push(f);
        chunkBytes += f.length;
        if (chunkBytes >= 1 << 20) {
          await out.write(Buffer.concat(chunk));
          size += chunkBytes;
          chunk.length = 0;
          chunkBytes = 0;
        }
      }
      if (chunkBytes > 0) {
        await out.write(Buffer.concat(chunk));
        size += chunkBytes;
      }
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, this.path);
    await fsyncDir(dirname(this.path));
    await this.fh?.close();
    this.fh = await open(this.path, 'a+');
    this.size = size;
    this.recordsSinceCompaction = records.length;
  }

  async close(): Promise<void> {
    await this.drain();
    await this.fh?.close();
    this.fh = undefined;
  }
}

async function readFully(fh: FileHandle, into: Buffer, position: number): Promise<void> {
  let read = 0;
  while (read < into.length) {
    const { bytesRead } = await fh.read(into, read, into.length - read, position + read);
    if (bytesRead === 0) throw new Error('unexpected end of metadata log');
    read += bytesRead;
  }
}

export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
