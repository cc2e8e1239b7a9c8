/**
 * Real-disk helpers for fault tests: seeded bodies, where a body lives in a
 * data dir (the layout of src/storage/body-file.ts `BodyPaths`), flipping a
 * byte in place, reading the metadata log's frames, and a tmpfs mount.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, readFile, readdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../tools/sim/seeded-random.js';

export { SeededRandom };

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** `size` bytes drawn from a seeded source: every seed gives different bytes, every run the same. */
export function seededBody(size: number, seed: number): Buffer {
  const random = new SeededRandom(seed);
  const out = Buffer.allocUnsafe(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) out.writeUInt32LE(Math.floor(random.next() * 0x100000000), i);
  for (; i < size; i++) out[i] = random.int(256);
  return out;
}

/** Where a node keeps the body with this sha256 (BodyPaths.bodyPath). */
export function bodyPath(dataDir: string, sha: string): string {
  return join(dataDir, 'blobs', sha.slice(0, 2), sha);
}

/** XORs one byte of a file in place and syncs it; returns the byte's old value. */
export async function flipByte(path: string, offset: number): Promise<number> {
  const fh = await open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, offset);
    const old = one[0] ?? 0;
    one[0] = old ^ 0x5a;
    await fh.write(one, 0, 1, offset);
    await fh.sync();
    return old;
  } finally {
    await fh.close();
  }
}

/** Files left in a node's tmp/ (bodies being written). */
export async function tmpFiles(dataDir: string): Promise<string[]> {
  return readdir(join(dataDir, 'tmp')).catch(() => []);
}

/** One frame of the metadata log (src/storage/meta-log.ts): where it ends and what it says. */
export interface LogFrame {
  end: number;
  record: { t: string; key?: string; sha?: string };
}

/** The whole frames of a metadata log file, in order (stops at the first damaged one). */
export async function logFrames(path: string): Promise<LogFrame[]> {
  const bytes = await readFile(path);
  const frames: LogFrame[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    if (offset + 8 + length > bytes.length) break;
    const record = JSON.parse(bytes.subarray(offset + 8, offset + 8 + length).toString('utf8')) as LogFrame['record'];
    offset += 8 + length;
    frames.push({ end: offset, record });
  }
  return frames;
}

/** Whether this machine lets us mount a tmpfs (root with CAP_SYS_ADMIN); probed once. */
export async function canMountTmpfs(): Promise<boolean> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const dir = await mkdtemp(join(tmpdir(), 'gcdn-mount-probe-'));
  try {
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' }).status !== 0) return false;
    spawnSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } finally {
    await rmdir(dir).catch(() => undefined);
  }
}

/** A small tmpfs at a fresh directory: a real file system that really fills up. */
export async function mountTmpfs(sizeBytes: number): Promise<{ dir: string; unmount(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gcdn-tmpfs-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`mount tmpfs failed: ${mounted.stderr}`);
  let done = false;
  return {
    dir,
    async unmount() {
      if (done) return;
      done = true;
      const r = spawnSync('umount', [dir], { encoding: 'utf8' });
      if (r.status !== 0) spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
      await rmdir(dir).catch(() => undefined);
    },
  };
}
