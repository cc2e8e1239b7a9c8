/**
 * Writing and reading body files. A body is written to a temp file in the
 * data dir while it is hashed (sha256) and checksummed (crc32 per chunk),
 * fdatasync'd, then renamed into its content-addressed place
 * (`blobs/ab/<sha256>`) and the directory fsync'd. Reads verify every chunk
 * before passing it on.
 */
import { createHash, randomUUID } from 'node:crypto';
import { open, readdir, rename, unlink, mkdir, type FileHandle } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream, open as openFd, write, writev } from 'node:fs';
import { once } from 'node:events';
import { crc32 } from 'node:zlib';
import { join, dirname } from 'node:path';
import { CdnError } from '../errors.js';
import { CHUNK_BYTES, ChunkChecksummer, unpackChecksums } from './chunk-checksums.js';
import { fsyncDir } from './fs-durability.js';

export interface WrittenBody {
  sha256: string;
  size: number;
  checksums: string;
}

export interface WriteLimits {
  /** hard cap on the body; more gives CDN_ERR_TOO_LARGE */
  maxBytes: number;
  /** called as bytes arrive; throws (e.g. CDN_ERR_STORAGE_QUOTA) to stop the write */
  reserve: (bytes: number) => void;
}

export class BodyPaths {
  constructor(readonly dataDir: string) {}
  get tmpDir(): string { return join(this.dataDir, 'tmp'); }
  get blobsDir(): string { return join(this.dataDir, 'blobs'); }
  get quarantineDir(): string { return join(this.dataDir, 'quarantine'); }
  bodyPath(sha256: string): string { return join(this.blobsDir, sha256.slice(0, 2), sha256); }
  tmpPath(): string { return join(this.tmpDir, `${randomUUID()}.part`); }
}

/**
 * The fs a temp file's write stream uses: it writes to the FileHandle's fd but
 * never closes it, because the FileHandle owns it. (A failed pipeline destroys
 * the stream, which closed the raw fd; the FileHandle then closed the same
 * number again, and by then it could be a client's socket: libuv aborted the
 * process.)
 */
const BORROWED_FD = {
  open: openFd, write, writev,
  close: (_fd: number, done: (err: NodeJS.ErrnoException | null) => void): void => done(null),
};

/** Hashes, checksums and counts bytes as they pass; enforces the limits. */
class HashTap extends Transform {
  readonly hash = createHash('sha256');
  readonly sums = new ChunkChecksummer();
  size = 0;

  constructor(private readonly limits: WriteLimits) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limits.maxBytes) {
      done(new CdnError('CDN_ERR_TOO_LARGE', `body exceeds the maximum blob size of ${this.limits.maxBytes} bytes`));
      return;
    }
    try {
      this.limits.reserve(chunk.length);
    } catch (err) {
      done(err as Error);
      return;
    }
    this.hash.update(chunk);
    this.sums.update(chunk);
    done(null, chunk);
  }
}

/**
 * Streams `source` to a durable temp file. Returns the temp path and what was
 * learned of the body; on any failure the temp file is removed.
 */
export async function writeTempBody(paths: BodyPaths, source: Readable, limits: WriteLimits): Promise<WrittenBody & { tmpPath: string }> {
  const tmpPath = paths.tmpPath();
  const fh = await open(tmpPath, 'w', 0o644);
  const tap = new HashTap(limits);
  const out = createWriteStream('', { fd: fh.fd, fs: BORROWED_FD, autoClose: false, highWaterMark: 1 << 20 });
  try {
    await pipeline(source, tap, out);
    await fh.datasync();
  } catch (err) {
    // A destroyed stream may still have a write in flight on the fd: let it settle first.
    if (!out.closed) await once(out, 'close').catch(() => undefined);
    await fh.close().catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  await fh.close();
  return { tmpPath, sha256: tap.hash.digest('hex'), size: tap.size, checksums: tap.sums.finish() };
}

/** Moves a durable temp body into its content-addressed place. */
export async function commitTempBody(paths: BodyPaths, tmpPath: string, sha256: string): Promise<void> {
  const final = paths.bodyPath(sha256);
  await mkdir(dirname(final), { recursive: true });
  await rename(tmpPath, final);
  await fsyncDir(dirname(final));
}

/**
 * Deletes body files that `keep` rejects (never acknowledged, or no longer
 * named by any version) and returns the sha256s of those kept.
 */
export async function reconcileBodyFiles(paths: BodyPaths, keep: (sha256: string) => boolean): Promise<Set<string>> {
  const kept = new Set<string>();
  for (const prefix of await readdir(paths.blobsDir)) {
    for (const name of await readdir(join(paths.blobsDir, prefix)).catch(() => [] as string[])) {
      if (/^[0-9a-f]{64}$/.test(name) && keep(name)) kept.add(name);
      else await unlink(join(paths.blobsDir, prefix, name)).catch(() => undefined);
    }
  }
  return kept;
}

export class CorruptBodyError extends CdnError {
  constructor(readonly sha256: string, readonly chunk: number) {
    super('CDN_ERR_BODY_UNAVAILABLE', `stored body ${sha256} failed its checksum at chunk ${chunk}`);
  }
}

/**
 * Reads bytes [start, end] (inclusive) of a stored body, verifying the crc32
 * of every chunk it touches before any byte of that chunk is passed on.
 */
async function* verifiedChunks(path: string, sha256: string, size: number, checksums: string, start: number, end: number, onCorrupt: (err: CorruptBodyError) => void): AsyncGenerator<Buffer> {
  const sums = unpackChecksums(checksums);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const missing = new CorruptBodyError(sha256, -1);
      onCorrupt(missing);
      throw missing;
    }
    throw err;
  }
  try {
    const first = Math.floor(start / CHUNK_BYTES);
    const last = Math.floor(end / CHUNK_BYTES);
    for (let index = first; index <= last; index++) {
      const chunkStart = index * CHUNK_BYTES;
      const length = Math.min(CHUNK_BYTES, size - chunkStart);
      const buf = Buffer.allocUnsafe(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await fh.read(buf, read, length - read, chunkStart + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      if (read !== length || crc32(buf) !== sums[index]) {
        const corrupt = new CorruptBodyError(sha256, index);
        onCorrupt(corrupt);
        throw corrupt;
      }
      const from = index === first ? start - chunkStart : 0;
      const to = index === last ? end - chunkStart + 1 : length;
      yield from === 0 && to === length ? buf : buf.subarray(from, to);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Opens a verified reader. The first chunk is read and verified before this
 * resolves, so a corrupt small body is reported before any header is sent.
 */
export async function openVerifiedBody(path: string, body: { sha256: string; size: number; checksums: string }, start: number, end: number, onCorrupt: (err: CorruptBodyError) => void): Promise<Readable> {
  if (body.size === 0 || end < start) return Readable.from([]);
  const chunks = verifiedChunks(path, body.sha256, body.size, body.checksums, start, end, onCorrupt);
  const first = await chunks.next();
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.done !== true) yield first.value;
    yield* chunks;
  }
  return Readable.from(rest(), { objectMode: false, highWaterMark: CHUNK_BYTES });
}

/** Reads and verifies a whole (small) body into memory. */
export async function readVerifiedBody(path: string, body: { sha256: string; size: number; checksums: string }, onCorrupt: (err: CorruptBodyError) => void): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of verifiedChunks(path, body.sha256, body.size, body.checksums, 0, body.size - 1, onCorrupt)) parts.push(chunk);
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
}
