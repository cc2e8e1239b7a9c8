/**
 * The blob store: content-addressed body files plus an in-memory index of
 * every key's sibling set, made durable by the metadata log.
 *
 * A write streams its body to a temp file (hashed, checksummed, fdatasync'd),
 * renames it into place, then — under the key's lock — rechecks the client's
 * preconditions, builds the version (SPEC §5 write rule), appends the key's new
 * sibling set to the log (group-committed fdatasync) and only then applies it
 * in memory and answers. A crash at any point leaves either the old state or
 * the new one; leftovers are cleaned at the next open.
 */
import { mkdir, rm, unlink, rename } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { CdnError } from '../errors.js';
import { HlcDriftError, type HybridLogicalClock } from '../consensus/hlc.js';
import type { SiblingSet, VectorClock, Version } from '../consensus/types.js';
import { normalizeClock } from '../consensus/vector-clock.js';
import { liveWinner, mergeVersion, nextClock, pickWinner, toSiblingSet } from '../consensus/versions.js';
import { EMPTY_SHA256 } from '../consensus/schema.js';
import { MetaLog } from './meta-log.js';
import { parseRecord, replayRecords, type LogRecord } from './meta-records.js';
import { QuotaTracker } from './quota.js';
import { BodyPaths, commitTempBody, reconcileBodyFiles, openVerifiedBody, readVerifiedBody, writeTempBody, type CorruptBodyError } from './body-file.js';
import { CommitGate, KeyLock } from './key-lock.js';
import { KeyIndex } from './key-index.js';
import type { BodyRecord, DeleteRequest, ListPage, PutRequest, StoreOptions, StoreStats, WriteResult } from './types.js';
import { StagedWrites, stageId, type StagedEntry } from './staged-writes.js';

export { EMPTY_SHA256 };
const TOMBSTONE_CONTENT_TYPE = 'application/octet-stream';

export interface StoreDeps {
  nodeId: string;
  clock: HybridLogicalClock;
  logger: Logger;
  /**
   * Signs a version this node mints (put, delete) with the node's identity
   * key (src/identity/version-signature.ts), returning it with `originKey`
   * and `signature`. The node injects it, so storage holds no key material;
   * without it (tests of storage alone) versions stay unsigned, and peers
   * refuse them.
   */
  sign?: ((fields: Version) => Version) | undefined;
}

/**
 * Drops a body this store does not need, unread. A stream destroyed before
 * its end may fail with an error (undici's body from a peer fails with an
 * abort error): it is listened for here, or it would be an uncaught
 * exception that stops the node.
 */
function discard(source: Readable | undefined): void {
  if (source === undefined) return;
  source.on('error', () => undefined);
  source.destroy();
}

/** Maps an error from the file system to the code the client sees. */
function storageError(err: unknown): unknown {
  if (err instanceof CdnError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new CdnError('CDN_ERR_STORAGE_QUOTA', 'the disk is full; nothing was stored', { cause: err });
  if (typeof code === 'string') return new CdnError('CDN_ERR_STORAGE_IO', `storage I/O failed (${code}); nothing was stored`, { cause: err });
  return err;
}

export class BlobStore {
  private readonly paths: BodyPaths;
  private readonly log: MetaLog<LogRecord>;
  private readonly index = new KeyIndex();
  private readonly bodies = new Map<string, BodyRecord>();
  /** versions (across all keys) that name each body */
  private readonly refs = new Map<string, number>();
  private readonly locks = new KeyLock();
  private readonly gate = new CommitGate();
  private readonly quota: QuotaTracker;
  private readonly staged: StagedWrites;
  private corruptDetected = 0;
  /** node-wide high-water mark of this node's own clock entry */
  private ownCounter = 0;
  private readonly changeListeners: ((key: string, siblings: SiblingSet) => void)[] = [];
  private readonly bodyLostListeners: ((sha256: string, size: number) => void)[] = [];
  private readonly adoptedListeners: ((versions: readonly Version[]) => void)[] = [];
  /** concurrent versions kept as siblings, and sibling sets later resolved to one version */
  private conflictsDetected = 0;
  private conflictsResolved = 0;
  private opened = false;

  private constructor(readonly options: StoreOptions, private readonly deps: StoreDeps) {
    this.paths = new BodyPaths(options.dataDir);
    this.quota = new QuotaTracker(options.quotaBytes);
    this.staged = new StagedWrites(options.maxStagedVersions ?? 10_000);
    this.log = new MetaLog<LogRecord>(join(options.dataDir, 'meta.log'));
  }

  /** Opens the store: cleans leftovers of interrupted writes and rebuilds the index from disk. */
  static async open(options: StoreOptions, deps: StoreDeps): Promise<BlobStore> {
    const store = new BlobStore(options, deps);
    await store.load();
    return store;
  }

  get nodeId(): string {
    return this.deps.nodeId;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  private async load(): Promise<void> {
    const { dataDir } = this.options;
    await mkdir(dataDir, { recursive: true });
    // Temp files are bodies whose write was never acknowledged.
    await rm(this.paths.tmpDir, { recursive: true, force: true });
    await mkdir(this.paths.tmpDir, { recursive: true });
    await mkdir(this.paths.blobsDir, { recursive: true });

    const replay = await this.log.open(parseRecord);
    if (replay.truncatedBytes > 0) {
      this.deps.logger.warn({ truncatedBytes: replay.truncatedBytes, copy: replay.damagedCopy }, 'metadata log had a torn or damaged tail; cut it off');
    }
    const state = replayRecords(replay.records, this.nodeId, this.index);
    this.ownCounter = state.ownCounter;
    await this.signOwnUnsigned();
    for (const set of this.index.values()) for (const v of set) this.ref(v.sha256, 1);
    for (const v of state.staged.values()) {
      this.staged.add(v, Date.now());
      this.ref(v.sha256, 1);
    }

    // Reconcile body files with the log: a file the log does not name (or no
    // version uses) was never acknowledged; a record whose file is gone means
    // the body must be fetched again.
    const onDisk = await reconcileBodyFiles(this.paths, (sha) => state.bodies.has(sha) && (this.refs.get(sha) ?? 0) > 0);
    for (const [sha, body] of state.bodies) {
      if (!onDisk.has(sha)) continue;
      this.bodies.set(sha, body);
      this.quota.add(body.size);
    }
    this.opened = true;
    this.deps.logger.info({ keys: this.index.size, bodies: this.bodies.size, bytes: this.quota.used }, 'storage opened');
  }

  /**
   * Versions this node minted before versions were signed carry no signature,
   * and peers refuse unsigned versions. This node holds the key: it signs its
   * own now, once, and logs the signed sets. Others' unsigned versions stay
   * as they are: kept and served here, never sent to a peer (the transport
   * leaves them out), since only their origin could sign them.
   */
  private async signOwnUnsigned(): Promise<void> {
    const { sign } = this.deps;
    if (sign === undefined) return;
    const records: LogRecord[] = [];
    for (const [key, set] of [...this.index.entries()]) {
      if (!set.some((v) => v.origin === this.nodeId && v.signature === undefined)) continue;
      const signed = toSiblingSet(set.map((v) => (v.origin === this.nodeId && v.signature === undefined ? sign(v) : v)));
      this.index.set(key, signed);
      records.push({ t: 'k', key, versions: [...signed] });
    }
    if (records.length === 0) return;
    await this.log.append(records);
    this.deps.logger.info({ keys: records.length }, 'signed this node\'s versions written before versions were signed');
  }

  private ref(sha: string, delta: number): void {
    const n = (this.refs.get(sha) ?? 0) + delta;
    if (n <= 0) this.refs.delete(sha);
    else this.refs.set(sha, n);
  }

  // ---- events ----------------------------------------------------------------

  /** Called after every change to a key's sibling set: local writes, remote merges, collection. */
  onChange(listener: (key: string, siblings: SiblingSet) => void): void {
    this.changeListeners.push(listener);
  }

  /** Called with the versions adopted from peers (for replication lag). */
  onAdopted(listener: (versions: readonly Version[]) => void): void {
    this.adoptedListeners.push(listener);
  }

  /** Called when a held body failed its checksum and was set aside: it should be fetched again. */
  onBodyLost(listener: (sha256: string, size: number) => void): void {
    this.bodyLostListeners.push(listener);
  }

  // ---- reads ---------------------------------------------------------------

  /** Every key known, including deleted ones awaiting collection. */
  keys(): IterableIterator<string> {
    return this.index.keys();
  }

  siblings(key: string): SiblingSet {
    return this.index.get(key) ?? [];
  }

  body(sha256: string): BodyRecord | undefined {
    return this.bodies.get(sha256);
  }

  hasBody(sha256: string): boolean {
    return sha256 === EMPTY_SHA256 || this.bodies.has(sha256);
  }

  /** A verified stream of bytes [start, end] of a stored body; the first chunk is checked before it resolves. */
  async openBody(sha256: string, start: number, end: number): Promise<Readable> {
    const body = this.requireBody(sha256);
    return openVerifiedBody(this.paths.bodyPath(sha256), body, start, end, (err) => this.onCorrupt(err));
  }

  /** The whole body, verified, in memory: for small bodies only. */
  async readBody(sha256: string): Promise<Buffer> {
    if (sha256 === EMPTY_SHA256) return Buffer.alloc(0);
    const body = this.requireBody(sha256);
    return readVerifiedBody(this.paths.bodyPath(sha256), body, (err) => this.onCorrupt(err));
  }

  private requireBody(sha256: string): BodyRecord {
    const body = this.bodies.get(sha256);
    if (body === undefined) throw new CdnError('CDN_ERR_BODY_UNAVAILABLE', `no verified copy of body ${sha256} is held here`);
    return body;
  }

  /** A body failed its checksum: stop serving it and move it aside; it will be fetched again. */
  private onCorrupt(err: CorruptBodyError): void {
    const body = this.bodies.get(err.sha256);
    if (body === undefined) return;
    this.corruptDetected++;
    this.bodies.delete(err.sha256);
    this.quota.remove(body.size);
    this.deps.logger.error({ sha256: err.sha256, chunk: err.chunk }, 'stored body failed its checksum; quarantined');
    const from = this.paths.bodyPath(err.sha256);
    const to = join(this.paths.quarantineDir, `${err.sha256}.${Date.now()}`);
    void (async () => {
      await mkdir(this.paths.quarantineDir, { recursive: true });
      await rename(from, to).catch(() => unlink(from));
      await this.gate.shared(() => this.log.append([{ t: 'x', sha: err.sha256 }]));
    })().catch((e: unknown) => this.deps.logger.error({ err: e }, 'could not quarantine corrupt body')).finally(() => {
      // Only now ask for a new copy: a fetch that finished first would be
      // moved aside with the bad one, and its `b` record followed by this `x`.
      for (const listener of this.bodyLostListeners) listener(err.sha256, body.size);
    });
  }

  /** A page of live keys in key order, after `cursor` (an opaque string from the previous page). */
  list(limit: number, cursor: string | undefined): ListPage {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const items: ListPage['items'] = [];
    let last: string | undefined;
    for (const key of this.index.keysAfter(after)) {
      const winner = liveWinner(this.siblings(key));
      if (winner === undefined) continue;
      if (items.length === limit) return { items, nextCursor: last === undefined ? undefined : encodeCursor(last) };
      items.push({ id: key, etag: winner.sha256, size: winner.size, contentType: winner.contentType });
      last = key;
    }
    return { items, nextCursor: undefined };
  }

  stats(): StoreStats {
    let live = 0;
    for (const set of this.index.values()) if (liveWinner(set) !== undefined) live++;
    return {
      liveKeys: live,
      keys: this.index.size,
      bodies: this.bodies.size,
      bodyBytes: this.quota.used,
      quotaBytes: this.options.quotaBytes,
      metaLogBytes: this.log.bytes,
      corruptBodiesDetected: this.corruptDetected,
      conflictsDetected: this.conflictsDetected,
      conflictsResolved: this.conflictsResolved,
      stagedVersions: this.staged.size,
    };
  }

  // ---- writes --------------------------------------------------------------

  /** Stores a new version of `key` written by a client of this node. */
  async put(req: PutRequest): Promise<WriteResult> {
    this.assertOpen();
    req.check?.(this.siblings(req.key), 'before-body');
    const reservation = this.quota.reservation();
    let tmpPath: string | undefined;
    try {
      const written = await writeTempBody(this.paths, req.body, { maxBytes: this.options.maxBlobBytes, reserve: (n) => reservation.reserve(n) });
      tmpPath = written.tmpPath;
      if (req.expectedSha256 !== undefined && req.expectedSha256 !== written.sha256) {
        throw new CdnError('CDN_ERR_BAD_DIGEST', `body sha256 is ${written.sha256}, not ${req.expectedSha256} as the client said`);
      }
      return await this.gate.shared(() => this.locks.run(req.key, async () => {
        const current = this.siblings(req.key);
        req.check?.(current, 'commit');
        const version = this.mint({
          key: req.key,
          clock: this.stampClock(current, req.context),
          timestamp: this.deps.clock.now(),
          origin: this.nodeId,
          sha256: written.sha256,
          size: written.size,
          contentType: req.contentType,
          cacheControl: req.cacheControl,
          tombstone: false,
          tokenId: req.tokenId,
        });
        if (req.replicate !== undefined) {
          const from = tmpPath ?? this.paths.bodyPath(written.sha256);
          await req.replicate(version, () => createReadStream(from));
        }
        const fresh = !this.bodies.has(written.sha256);
        if (fresh && tmpPath !== undefined) {
          await commitTempBody(this.paths, tmpPath, written.sha256);
          tmpPath = undefined;
        }
        const body: BodyRecord | undefined = fresh ? { sha256: written.sha256, size: written.size, checksums: written.checksums } : undefined;
        return this.commit(req.key, current, version, body);
      }));
    } catch (err) {
      throw storageError(err);
    } finally {
      reservation.release();
      if (tmpPath !== undefined) await unlink(tmpPath).catch(() => undefined);
    }
  }

  /** Writes a tombstone for `key`; undefined if the key has no live version here. */
  async delete(req: DeleteRequest): Promise<WriteResult | undefined> {
    this.assertOpen();
    try {
      return await this.gate.shared(() => this.locks.run(req.key, async () => {
        const current = this.siblings(req.key);
        req.check?.(current, 'commit');
        if (liveWinner(current) === undefined && req.context === undefined) return undefined;
        const version = this.mint({
          key: req.key,
          clock: this.stampClock(current, req.context),
          timestamp: this.deps.clock.now(),
          origin: this.nodeId,
          sha256: EMPTY_SHA256,
          size: 0,
          contentType: TOMBSTONE_CONTENT_TYPE,
          tombstone: true,
          tokenId: req.tokenId,
        });
        if (req.replicate !== undefined) await req.replicate(version, undefined);
        return this.commit(req.key, current, version, undefined);
      }));
    } catch (err) {
      throw storageError(err);
    }
  }

  /** A new version of this node's, signed when the node gave a signer; absent optional fields are left out. */
  private mint(fields: Version): Version {
    const v: { -readonly [K in keyof Version]: Version[K] } = { ...fields };
    if (v.cacheControl === undefined) delete v.cacheControl;
    if (v.tokenId === undefined) delete v.tokenId;
    return this.deps.sign === undefined ? v : this.deps.sign(v);
  }

  /**
   * The SPEC §5 write rule, with this node's entry drawn from a node-wide
   * counter: it still rises with every write to the key, and it never
   * restarts after a key's tombstones are collected, so a new write can never
   * be dominated by an old version of the key that another node still holds.
   */
  private stampClock(current: SiblingSet, context: VectorClock | undefined): VectorClock {
    const clock = nextClock(current, context, this.nodeId);
    const mine = clock[this.nodeId] ?? 0;
    const next = Math.max(mine, this.ownCounter + 1);
    this.ownCounter = next;
    return next === mine ? clock : normalizeClock({ ...clock, [this.nodeId]: next });
  }

  /** Durably records the key's new sibling set (and a new body), then applies it. Caller holds the key lock. */
  private async commit(key: string, current: SiblingSet, version: Version, body: BodyRecord | undefined): Promise<WriteResult> {
    const { set } = mergeVersion(current, version);
    const records: LogRecord[] = [];
    if (body !== undefined) records.push({ t: 'b', sha: body.sha256, size: body.size, sums: body.checksums });
    records.push({ t: 'k', key, versions: [...set] });
    await this.log.append(records);
    if (body !== undefined) {
      this.bodies.set(body.sha256, body);
      this.quota.add(body.size);
    }
    this.replaceSet(key, current, set);
    this.scheduleMaintenance();
    return { version, created: liveWinner(current) === undefined, siblings: set };
  }

  private replaceSet(key: string, before: SiblingSet, after: SiblingSet): void {
    for (const v of after) this.ref(v.sha256, 1);
    for (const v of before) this.ref(v.sha256, -1);
    if (after.length === 0) this.index.delete(key);
    else this.index.set(key, after);
    for (const v of before) void this.releaseBodyIfUnused(v.sha256);
    if (this.staged.size > 0) for (const id of this.staged.settledBy(key, after)) void this.unstage(id);
    if (after.length > 1 && after.length > before.length) this.conflictsDetected++;
    else if (before.length > 1 && after.length === 1) this.conflictsResolved++;
    for (const listener of this.changeListeners) listener(key, after);
  }

  /**
   * Merges versions learned from a peer (SPEC §5 receipt rule), durably, and
   * resolves with the ones adopted: new to this node and not dominated.
   * Bodies come separately (`putRemoteBody`).
   */
  async applyRemote(versions: readonly Version[]): Promise<Version[]> {
    this.assertOpen();
    const byKey = new Map<string, Version[]>();
    for (const v of versions) {
      this.observe(v);
      const list = byKey.get(v.key);
      if (list === undefined) byKey.set(v.key, [v]);
      else list.push(v);
    }
    const adopted: Version[] = [];
    await Promise.all([...byKey].map(([key, list]) => this.gate.shared(() => this.locks.run(key, async () => {
      const current = this.siblings(key);
      let set = current;
      for (const v of list) set = mergeVersion(set, v).set;
      if (set === current || (set.length === current.length && set.every((v, i) => current[i] === v))) return;
      const kept = list.filter((v) => set.includes(v));
      try {
        await this.log.append([{ t: 'k', key, versions: [...set] }]);
      } catch (err) {
        throw storageError(err);
      }
      for (const v of set) this.ownCounter = Math.max(this.ownCounter, v.clock[this.nodeId] ?? 0);
      this.replaceSet(key, current, set);
      adopted.push(...kept);
    }))));
    this.scheduleMaintenance();
    if (adopted.length > 0) for (const listener of this.adoptedListeners) listener(adopted);
    return adopted;
  }

  /**
   * Stores a body fetched from a peer. It streams to a temp file while it is
   * hashed, and is kept only if its sha256 and size match what the version
   * says (CDN_ERR_BAD_DIGEST otherwise: the peer sent bad data) and some
   * version here still names it.
   */
  async putRemoteBody(sha256: string, size: number, source: Readable): Promise<boolean> {
    this.assertOpen();
    if (this.bodies.has(sha256)) {
      discard(source);
      return false;
    }
    const reservation = this.quota.reservation();
    let tmpPath: string | undefined;
    try {
      const written = await writeTempBody(this.paths, source, { maxBytes: size, reserve: (n) => reservation.reserve(n) });
      tmpPath = written.tmpPath;
      if (written.sha256 !== sha256 || written.size !== size) {
        throw new CdnError('CDN_ERR_BAD_DIGEST', `body from peer hashed to ${written.sha256} (${written.size} bytes), expected ${sha256} (${size} bytes)`);
      }
      return await this.gate.shared(async () => {
        if (this.bodies.has(sha256) || (this.refs.get(sha256) ?? 0) === 0) return false;
        await commitTempBody(this.paths, written.tmpPath, sha256);
        tmpPath = undefined;
        await this.log.append([{ t: 'b', sha: sha256, size, sums: written.checksums }]);
        this.bodies.set(sha256, { sha256, size, checksums: written.checksums });
        this.quota.add(size);
        return true;
      });
    } catch (err) {
      throw storageError(err);
    } finally {
      reservation.release();
      if (tmpPath !== undefined) await unlink(tmpPath).catch(() => undefined);
    }
  }

  private releasing = new Set<string>();

  // ---- staged writes (write copies > 1; staged-writes.ts) ---------------------

  /**
   * Holds another node's version durably without making it visible: the body
   * (streamed, verified against the version's sha256 and size) and a staged
   * record. Resolves once both are on disk. A version this node already holds
   * (or one its set dominates) needs no staging.
   * @throws CDN_ERR_BAD_DIGEST when the bytes do not match, CDN_ERR_STORAGE_QUOTA when full.
   */
  async stageRemote(version: Version, source: Readable | undefined): Promise<void> {
    this.assertOpen();
    if (this.staged.has(version) || !mergeVersion(this.siblings(version.key), version).changed) {
      discard(source);
      return;
    }
    if (!version.tombstone && source === undefined) throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'a staged version needs its body');
    this.observe(version);
    const reservation = this.quota.reservation();
    let tmpPath: string | undefined;
    try {
      let body: BodyRecord | undefined;
      if (!version.tombstone && !this.bodies.has(version.sha256) && source !== undefined) {
        const written = await writeTempBody(this.paths, source, { maxBytes: version.size, reserve: (n) => reservation.reserve(n) });
        tmpPath = written.tmpPath;
        if (written.sha256 !== version.sha256 || written.size !== version.size) {
          throw new CdnError('CDN_ERR_BAD_DIGEST', `staged body hashed to ${written.sha256} (${written.size} bytes), expected ${version.sha256} (${version.size} bytes)`);
        }
        body = { sha256: written.sha256, size: written.size, checksums: written.checksums };
      } else {
        discard(source);
      }
      await this.gate.shared(() => this.locks.run(version.key, async () => {
        if (this.staged.has(version)) return;
        if (this.staged.size >= (this.options.maxStagedVersions ?? 10_000)) throw new CdnError('CDN_ERR_NOT_READY', 'too many staged writes are waiting here');
        const records: LogRecord[] = [];
        if (body !== undefined && !this.bodies.has(body.sha256) && tmpPath !== undefined) {
          await commitTempBody(this.paths, tmpPath, body.sha256);
          tmpPath = undefined;
          records.push({ t: 'b', sha: body.sha256, size: body.size, sums: body.checksums });
        }
        records.push({ t: 's', v: version });
        await this.log.append(records);
        if (records.length > 1 && body !== undefined) {
          this.bodies.set(body.sha256, body);
          this.quota.add(body.size);
        }
        this.staged.add(version, Date.now());
        this.ref(version.sha256, 1);
      }));
    } catch (err) {
      throw storageError(err);
    } finally {
      reservation.release();
      if (tmpPath !== undefined) await unlink(tmpPath).catch(() => undefined);
    }
  }

  /**
   * A receive event for the hybrid clock: it moves past a remote version's
   * timestamp, unless that is further ahead than its drift limit (the skew
   * limit). Then the version is still stored (vector clocks decide, and the
   * data plane refuses the wildly ahead), but our clock is not dragged.
   */
  private observe(v: Version): void {
    try {
      this.deps.clock.observe(v.timestamp);
    } catch (err) {
      if (!(err instanceof HlcDriftError)) throw err;
    }
  }

  /** Staged versions still waiting (for the resolution sweep). */
  stagedVersions(): StagedEntry[] {
    return [...this.staged.values()];
  }

  /** Forgets a staged version (aborted, or never committed by its writer); its body goes if nothing else names it. */
  async unstage(id: string): Promise<void> {
    const entry = this.staged.remove(id);
    if (entry === undefined) return;
    try {
      await this.gate.shared(() => this.log.append([{ t: 'u', id }]));
    } catch (err) {
      this.deps.logger.warn({ err, id }, 'could not record a forgotten staged write; it is asked about again after the next start');
    }
    this.ref(entry.version.sha256, -1);
    void this.releaseBodyIfUnused(entry.version.sha256);
  }

  /** Forgets a staged version by the version itself. */
  async unstageVersion(version: Version): Promise<void> {
    await this.unstage(stageId(version));
  }

  /**
   * Removes a held body that versions still name: placement says this node
   * does not own it and its owners hold it (src/gossip/core/custody.ts). The
   * versions stay, with the body no longer held here; a read fetches it from
   * an owner. Forgotten in memory first (no new read opens it; one already
   * streaming keeps its open file), then the log, then the file.
   */
  async dropBody(sha: string): Promise<void> {
    const body = this.bodies.get(sha);
    if (body === undefined || this.releasing.has(sha)) return;
    this.releasing.add(sha);
    this.bodies.delete(sha);
    this.quota.remove(body.size);
    try {
      await this.gate.shared(() => this.log.append([{ t: 'x', sha }]));
      await unlink(this.paths.bodyPath(sha)).catch(() => undefined);
    } catch (err) {
      // the `b` record stands: the body is back at the next start, which is harmless
      this.deps.logger.warn({ err, sha }, 'could not record a dropped body; it returns at next start');
    } finally {
      this.releasing.delete(sha);
    }
  }

  /** Bytes the quota still allows (held and reserved bytes subtracted). */
  freeBytes(): number {
    return this.quota.free;
  }

  /** Removes a body no version names any more: log first, then the file. */
  private async releaseBodyIfUnused(sha: string): Promise<void> {
    if ((this.refs.get(sha) ?? 0) > 0 || this.releasing.has(sha)) return;
    const body = this.bodies.get(sha);
    if (body === undefined) return;
    this.releasing.add(sha);
    try {
      await this.gate.shared(() => this.log.append([{ t: 'x', sha }]));
      if ((this.refs.get(sha) ?? 0) > 0) {
        // Named again meanwhile (the same bytes written anew): record it back.
        await this.gate.shared(() => this.log.append([{ t: 'b', sha, size: body.size, sums: body.checksums }]));
        return;
      }
      this.bodies.delete(sha);
      this.quota.remove(body.size);
      await unlink(this.paths.bodyPath(sha)).catch(() => undefined);
    } catch (err) {
      this.deps.logger.warn({ err, sha }, 'could not release an unused body; it is removed at next start');
    } finally {
      this.releasing.delete(sha);
    }
  }

  /** Keys whose every sibling is a tombstone written more than `tombstoneGraceMs` ago: collectable once the cluster agrees. */
  tombstoneCandidates(nowMs: number, limit = 10_000): string[] {
    const horizon = nowMs - this.options.tombstoneGraceMs;
    const out: string[] = [];
    for (const [key, set] of this.index.entries()) {
      if (out.length >= limit) break;
      if (set.length > 0 && set.every((v) => v.tombstone && v.timestamp.wall < horizon)) out.push(key);
    }
    return out;
  }

  /** Forgets a key entirely (a rejoining node learned that it was deleted and collected elsewhere). */
  async forgetKey(key: string): Promise<void> {
    this.assertOpen();
    await this.gate.shared(() => this.locks.run(key, async () => {
      const now = this.siblings(key);
      if (now.length === 0) return;
      await this.log.append([{ t: 'k', key, versions: [] }]);
      this.replaceSet(key, now, []);
    }));
  }

  /**
   * Collects tombstones older than the grace period: a key whose every
   * sibling is a tombstone written more than `tombstoneGraceMs` ago is
   * forgotten; with `allowed`, only those keys (the ones every live member
   * confirmed, src/gossip/core/tombstones.ts). Returns how many were collected.
   */
  async collectTombstones(nowMs: number, allowed?: ReadonlySet<string>): Promise<number> {
    const horizon = nowMs - this.options.tombstoneGraceMs;
    let collected = 0;
    for (const key of allowed === undefined ? [...this.index.keys()] : [...allowed]) {
      const set = this.siblings(key);
      const winner = pickWinner(set);
      if (winner === undefined || !set.every((v) => v.tombstone && v.timestamp.wall < horizon)) continue;
      await this.gate.shared(() => this.locks.run(key, async () => {
        const now = this.siblings(key);
        if (!now.every((v) => v.tombstone && v.timestamp.wall < horizon)) return;
        await this.log.append([{ t: 'k', key, versions: [] }]);
        this.replaceSet(key, now, []);
        collected++;
      }));
    }
    return collected;
  }

  // ---- maintenance -----------------------------------------------------------

  private compacting = false;

  /** Rewrites the log once it holds more than twice the records the live state needs. */
  private scheduleMaintenance(): void {
    const live = this.index.size + this.bodies.size;
    if (this.compacting || this.log.appendedRecords < 2 * live + 10_000) return;
    this.compacting = true;
    void this.compact()
      .catch((err: unknown) => this.deps.logger.error({ err }, 'metadata log compaction failed; will retry'))
      .finally(() => { this.compacting = false; });
  }

  async compact(): Promise<void> {
    await this.gate.exclusively(async () => {
      const records: LogRecord[] = [{ t: 'c', n: this.ownCounter }];
      for (const b of this.bodies.values()) records.push({ t: 'b', sha: b.sha256, size: b.size, sums: b.checksums });
      for (const [key, versions] of this.index.entries()) records.push({ t: 'k', key, versions: [...versions] });
      for (const e of this.staged.values()) records.push({ t: 's', v: e.version });
      await this.log.rewrite(records);
    });
  }

  private assertOpen(): void {
    if (!this.opened) throw new CdnError('CDN_ERR_NOT_READY', 'storage is not open');
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    await this.gate.exclusively(async () => {
      await this.log.close();
    });
  }
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[0-9a-f-]{36}$/.test(key)) throw new CdnError('CDN_ERR_BAD_QUERY', 'cursor is not one this node gave out');
  return key;
}
