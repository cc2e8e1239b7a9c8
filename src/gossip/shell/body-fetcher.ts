/**
 * Pulls bodies from peers that hold them, through one bounded queue, so each
 * node downloads each body about once: requests for a body already queued or
 * in flight join it (single-flight per sha256). Each holder is tried in turn;
 * the bytes are verified against the sha256 as they are stored, and a peer
 * that sends bad bytes is reported. Bodies that no holder could give are
 * retried later with backoff, a bounded number of times.
 */
import PQueue from 'p-queue';
import type { Readable } from 'node:stream';
import type { Logger } from '../../log.js';
import { isCdnError } from '../../errors.js';
import type { Version } from '../../consensus/types.js';
import type { NodeId, PeerInfo } from '../core/types.js';
import type { BodyFetcherOptions } from './runtime-config.js';

/** Where fetched bodies go: the blob store. */
export interface BodySink {
  hasBody(sha256: string): boolean;
  /** true when stored; throws CDN_ERR_BAD_DIGEST when the bytes do not match */
  putRemoteBody(sha256: string, size: number, source: Readable): Promise<boolean>;
}

export interface BodySource {
  fetchBody(peer: PeerInfo, sha256: string, timeoutMs: number): Promise<{ size: number; body: Readable }>;
}

export interface BodyFetcherDeps {
  source: BodySource;
  sink: BodySink;
  /** a live peer by id */
  peer: (id: NodeId) => PeerInfo | undefined;
  /** peers known to hold a body, best first */
  holders: (sha256: string) => NodeId[];
  /** a few live peers to try when no holder is known */
  anyPeers: (count: number) => PeerInfo[];
  /** the body arrived and is stored */
  onStored: (sha256: string, size: number) => void;
  /** a peer sent bytes that do not match */
  onBadPeer: (peer: PeerInfo, reason: string) => void;
  logger: Logger;
}

export interface FetcherStats {
  fetched: number;
  bytes: number;
  failures: number;
  badBodies: number;
  queued: number;
}

export class BodyFetcher {
  private readonly queue: PQueue;
  private readonly pending = new Map<string, Promise<boolean>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  readonly stats: FetcherStats = { fetched: 0, bytes: 0, failures: 0, badBodies: 0, queued: 0 };
  private stopped = false;

  constructor(private readonly deps: BodyFetcherDeps, private readonly options: BodyFetcherOptions) {
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  /** Fetches the body of `version` unless held or already on its way; resolves true once it is held. */
  want(version: Pick<Version, 'sha256' | 'size' | 'origin'>, round = 0): Promise<boolean> {
    if (this.deps.sink.hasBody(version.sha256)) return Promise.resolve(true);
    const existing = this.pending.get(version.sha256);
    if (existing !== undefined) return existing;
    if (this.stopped || this.queue.size >= this.options.maxQueued) return Promise.resolve(false);
    const job = this.queue.add(() => this.fetch(version)).then((ok) => ok === true).finally(() => {
      this.pending.delete(version.sha256);
      this.stats.queued = this.queue.size;
    });
    this.pending.set(version.sha256, job);
    this.stats.queued = this.queue.size;
    void job.then((ok) => {
      if (!ok && round + 1 < this.options.maxRounds && !this.stopped) {
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          void this.want(version, round + 1);
        }, this.options.retryDelayMs * 2 ** round);
        timer.unref();
        this.retryTimers.add(timer);
      }
    });
    return job;
  }

  private candidates(version: Pick<Version, 'sha256' | 'origin'>): PeerInfo[] {
    const seen = new Set<NodeId>();
    const out: PeerInfo[] = [];
    for (const id of [...this.deps.holders(version.sha256), version.origin]) {
      const p = this.deps.peer(id);
      if (p !== undefined && !seen.has(id)) { seen.add(id); out.push(p); }
    }
    for (const p of this.deps.anyPeers(this.options.fallbackPeers)) if (!seen.has(p.id)) { seen.add(p.id); out.push(p); }
    return out;
  }

  private async fetch(version: Pick<Version, 'sha256' | 'size' | 'origin'>): Promise<boolean> {
    for (const peer of this.candidates(version)) {
      if (this.deps.sink.hasBody(version.sha256)) return true;
      try {
        const { size, body } = await this.deps.source.fetchBody(peer, version.sha256, this.options.stallTimeoutMs);
        if (size !== version.size) {
          // destroyed unread, undici's body emits an abort error: listened for, or it would crash the node
          body.on('error', () => undefined);
          body.destroy();
          this.stats.badBodies++;
          this.deps.onBadPeer(peer, `body ${version.sha256} announced ${size} bytes, the version says ${version.size}`);
          continue;
        }
        const stored = await this.deps.sink.putRemoteBody(version.sha256, version.size, body);
        this.stats.fetched++;
        this.stats.bytes += version.size;
        if (stored) this.deps.onStored(version.sha256, version.size);
        return true;
      } catch (err) {
        if (isCdnError(err) && err.code === 'CDN_ERR_BAD_DIGEST') {
          this.stats.badBodies++;
          this.deps.onBadPeer(peer, err.message);
        } else {
          this.stats.failures++;
          this.deps.logger.debug({ err, peer: peer.id, sha256: version.sha256 }, 'body fetch attempt failed');
        }
      }
    }
    return this.deps.sink.hasBody(version.sha256);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.queue.clear();
    await this.queue.onIdle();
  }
}
