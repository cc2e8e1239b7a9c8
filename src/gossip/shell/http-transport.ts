/**
 * The production Transport: each message is one signed POST to the peer's
 * /gossip/message, over undici keep-alive pools. Fire-and-forget, as the
 * protocol core expects: failures are counted and logged, never awaited.
 * Bounded everywhere: a per-peer queue (p-queue) caps concurrency and
 * backlog; past the backlog, messages are dropped (gossip tolerates loss).
 * Also fetches bodies (GET /gossip/bodies/{sha256}) for the runtime.
 * Over HTTPS when the node has TLS (peers verified against its CA, their
 * advertised host checked against their certificate); a peer whose
 * certificate does not verify is logged at warn, once per peer.
 *
 * Connections (proposals/0001, "Peer links"): keep-alive pools only to the
 * active peers (`isActive`, the membership's active view), one pool per
 * peer of at most connectionsPerPeer sockets, closed by `prune()` once the
 * peer leaves the view; anything to another member (an ack to a node whose
 * view holds this one, a body fetched from a holder outside the view) goes
 * on a short-lived connection closed after its one request.
 */
/** Peers whose certificate failure was logged; past this many, the set starts over (bounded). */
const MAX_WARNED_PEERS = 1024;
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, Pool, request, type Dispatcher } from 'undici';
import PQueue from 'p-queue';
import type { Logger } from '../../log.js';
import type { NodeIdentity } from '../../identity/keystore.js';
import { CdnError } from '../../errors.js';
import type { GossipMessage } from '../core/messages.js';
import type { Version } from '../../consensus/types.js';
import { TIME_HEADER, signRequest } from './signing.js';
import type { HttpTransportOptions } from './runtime-config.js';
import type { Clock, NodeId, PeerInfo, Transport } from '../core/types.js';
import { certificateFailure, PLAIN_DIALING, trustOf, type Dialing } from '../../tls.js';

export const MESSAGE_PATH = '/gossip/message';
/** `revocations` messages go here, so a node from before them answers 404 (harmless) instead of a bad-message 400 */
export const REVOCATIONS_PATH = '/gossip/revocations';
export const BODY_PATH_PREFIX = '/gossip/bodies/';
export const KEYS_PATH_PREFIX = '/gossip/keys/';
export const STAGE_PATH_PREFIX = '/gossip/stage/';
/** the staged version, base64url of its JSON, on PUT /gossip/stage/{sha256} */
export const STAGE_VERSION_HEADER = 'x-gossip-version';

/** What a stage request's signature covers: the version header and the body's sha256 (the body itself streams). */
export function stageSignedMaterial(versionHeader: string, sha256: string): string {
  return `${versionHeader}\n${sha256}`;
}
const MAX_KEY_ANSWER_BYTES = 256 * 1024;

/**
 * A message without the unsigned versions it would carry: those were written
 * before versions were signed, by another node (a node signs its own when it
 * opens its store), and every peer refuses them. They stay where they are,
 * served locally, never relayed.
 */
function signedOnly(message: GossipMessage): GossipMessage {
  if (message.type !== 'versions' && message.type !== 'unstage') return message;
  if (message.versions.every((v) => v.signature !== undefined)) return message;
  return { ...message, versions: message.versions.filter((v) => v.signature !== undefined) };
}

export interface TransportStats {
  sent: number;
  failed: number;
  dropped: number;
  bytesOut: number;
  byType: Record<string, { messages: number; bytes: number }>;
}

/** One answer to a signed message, for the clock and acceptance of that peer (peer-clocks.ts). */
export interface PeerAnswer {
  readonly status: number;
  /** the peer's wall clock as it answered (x-gossip-time), when it said */
  readonly peerTime: number | undefined;
  readonly sentAt: number;
  readonly answeredAt: number;
}

export class HttpTransport implements Transport {
  /** short-lived connections, to members outside the active view (each request closes its connection) */
  private readonly oneOff: Agent;
  private readonly poolOptions: Pool.Options;
  /** keep-alive pools, one per active peer, keyed by peer id */
  private readonly pools = new Map<NodeId, { origin: string; pool: Pool }>();
  /** whether a peer is in the active view; unset: every peer is (no view) */
  isActive: ((peer: NodeId) => boolean) | undefined;
  private readonly queues = new Map<NodeId, PQueue>();
  private readonly warnedTls = new Set<NodeId>();
  readonly stats: TransportStats = { sent: 0, failed: 0, dropped: 0, bytesOut: 0, byType: {} };
  /** called when a peer could not be reached or refused a message */
  onFailure: ((peer: PeerInfo, err: unknown) => void) | undefined;
  /** called on every answer to a message: its status, and the peer's clock from x-gossip-time with the wall-clock times it was sent and answered */
  onAnswer: ((peer: PeerInfo, answer: PeerAnswer) => void) | undefined;

  constructor(
    private readonly identity: NodeIdentity,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: HttpTransportOptions,
    /** source address for outgoing connections (a node bound to 127.0.0.5 speaks from it) */
    localAddress?: string,
    /** http, or https verified against the node's CA */
    private readonly dialing: Dialing = PLAIN_DIALING,
  ) {
    this.poolOptions = {
      connections: options.connectionsPerPeer,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      headersTimeout: options.messageTimeoutMs,
      bodyTimeout: options.messageTimeoutMs,
      connect: { timeout: options.messageTimeoutMs, ...trustOf(dialing) },
      // undici takes the source address as a client option (inside `connect` it is ignored).
      ...(localAddress === undefined ? {} : { localAddress }),
    };
    this.oneOff = new Agent(this.poolOptions);
  }

  /**
   * How to reach a peer: its keep-alive pool if it is active, else a
   * connection that closes after this request (`reset`).
   */
  private route(peer: PeerInfo): { dispatcher: Dispatcher; reset: boolean } {
    if (this.isActive !== undefined && !this.isActive(peer.id)) return { dispatcher: this.oneOff, reset: true };
    const origin = `${this.dialing.scheme}://${peer.address}`;
    let entry = this.pools.get(peer.id);
    if (entry !== undefined && entry.origin !== origin) {
      void entry.pool.close().catch(() => undefined);
      entry = undefined;
    }
    if (entry === undefined) {
      entry = { origin, pool: new Pool(origin, this.poolOptions) };
      this.pools.set(peer.id, entry);
    }
    return { dispatcher: entry.pool, reset: false };
  }

  /** Closes the keep-alive pools of peers no longer active (their requests in flight finish first). */
  prune(): void {
    if (this.isActive === undefined) return;
    for (const [id, entry] of this.pools) {
      if (this.isActive(id)) continue;
      this.pools.delete(id);
      void entry.pool.close().catch(() => undefined);
    }
  }

  /** Peers this node holds a keep-alive pool for (at most the active view, between prunes a few more). */
  get keptPeers(): number {
    return this.pools.size;
  }

  /** Open connections: in keep-alive pools, and short-lived ones still open. */
  openConnections(): { kept: number; oneOff: number } {
    let kept = 0;
    for (const { pool } of this.pools.values()) kept += pool.stats.connected;
    let oneOff = 0;
    for (const stats of Object.values(this.oneOff.stats)) oneOff += (stats as { connected?: number }).connected ?? 0;
    return { kept, oneOff };
  }

  private queueFor(peer: NodeId): PQueue {
    let q = this.queues.get(peer);
    if (q === undefined) {
      q = new PQueue({ concurrency: this.options.concurrencyPerPeer });
      this.queues.set(peer, q);
    }
    return q;
  }

  send(to: PeerInfo, message: GossipMessage): void {
    const queue = this.queueFor(to.id);
    if (queue.size >= this.options.backlogPerPeer) {
      this.stats.dropped++;
      return;
    }
    const body = JSON.stringify(signedOnly(message));
    const path = message.type === 'revocations' ? REVOCATIONS_PATH : MESSAGE_PATH;
    void queue.add(async () => {
      try {
        const sentAt = this.clock.now();
        const headers = { 'content-type': 'application/json', ...this.sign('POST', path, body) };
        const res = await request(this.urlOf(to, path), { method: 'POST', body, headers, ...this.route(to) });
        const time = res.headers[TIME_HEADER];
        const peerTime = typeof time === 'string' && /^\d{1,16}$/.test(time) ? Number(time) : undefined;
        this.onAnswer?.(to, { status: res.statusCode, peerTime, sentAt, answeredAt: this.clock.now() });
        if (res.statusCode >= 300) {
          const why = (await res.body.text()).slice(0, 300);
          throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', `peer answered ${res.statusCode}: ${why}`);
        }
        await res.body.dump();
        this.count(message.type, body.length);
      } catch (err) {
        this.stats.failed++;
        this.logger.debug({ err, peer: to.id, type: message.type }, 'gossip message not delivered');
        this.warnIfCertificate(to, err);
        this.onFailure?.(to, err);
      }
    });
  }

  private urlOf(peer: PeerInfo, path: string): string {
    return `${this.dialing.scheme}://${peer.address}${path}`;
  }

  /** A peer whose certificate does not verify (wrong CA, not naming its address) is worth a warning, once. */
  private warnIfCertificate(peer: PeerInfo, err: unknown): void {
    const failure = certificateFailure(err);
    if (failure === undefined || this.warnedTls.has(peer.id)) return;
    if (this.warnedTls.size >= MAX_WARNED_PEERS) this.warnedTls.clear();
    this.warnedTls.add(peer.id);
    this.logger.warn({ peer: peer.id, address: peer.address, reason: failure }, 'peer\'s TLS certificate did not verify (check --tls-ca and the SANs of its certificate); it is unreachable from here');
  }

  private count(type: string, bytes: number): void {
    this.stats.sent++;
    this.stats.bytesOut += bytes;
    const t = (this.stats.byType[type] ??= { messages: 0, bytes: 0 });
    t.messages++;
    t.bytes += bytes;
  }

  sign(method: string, path: string, body: string | Buffer): Record<string, string> {
    return signRequest(this.identity, method, path, body, this.clock.now(), randomBytes(16).toString('base64url'));
  }

  /**
   * Opens a body stream from a peer (signed GET). The caller verifies the
   * sha256 as it stores it; `timeoutMs` bounds the wait for headers and any
   * pause between chunks, not the whole transfer.
   */
  async fetchBody(peer: PeerInfo, sha256: string, timeoutMs: number): Promise<{ size: number; body: Readable }> {
    const path = `${BODY_PATH_PREFIX}${sha256}`;
    const res = await request(this.urlOf(peer, path), {
      method: 'GET', headers: this.sign('GET', path, ''), ...this.route(peer), headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    });
    // Whoever drops this body unread (a size check here, the fetcher, the store that holds it already)
    // destroys it before its end, and undici's body then fails with an abort error: listened for here,
    // or it would be an uncaught exception that stops the node.
    res.body.on('error', () => undefined);
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new CdnError('CDN_ERR_BODY_UNAVAILABLE', `peer ${peer.id} answered ${res.statusCode} for body ${sha256}`);
    }
    const size = Number(res.headers['content-length']);
    if (!Number.isSafeInteger(size)) {
      res.body.destroy();
      throw new CdnError('CDN_ERR_BODY_UNAVAILABLE', `peer ${peer.id} sent no Content-Length for body ${sha256}`);
    }
    return { size, body: res.body };
  }

  /**
   * Stages a version and its body on a peer (write copies > 1): resolves once
   * the peer holds both durably, throws otherwise. `timeoutMs` bounds the
   * whole exchange.
   */
  async stage(peer: PeerInfo, version: Version, body: Readable | undefined, timeoutMs: number): Promise<void> {
    const path = `${STAGE_PATH_PREFIX}${version.sha256}`;
    const header = Buffer.from(JSON.stringify(version)).toString('base64url');
    const headers = {
      ...this.sign('PUT', path, stageSignedMaterial(header, version.sha256)),
      [STAGE_VERSION_HEADER]: header,
      'content-type': 'application/octet-stream',
      'content-length': String(body === undefined ? 0 : version.size),
    };
    const res = await request(this.urlOf(peer, path), {
      method: 'PUT', headers, body: body ?? '', ...this.route(peer), signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await res.body.text()).slice(0, 300);
    if (res.statusCode !== 204) throw new CdnError('CDN_ERR_TOO_FEW_COPIES', `peer ${peer.id} answered ${res.statusCode} to a staged write: ${text}`);
  }

  /** Asks a peer for its versions of one key (read-through of a key this node never heard of). */
  async fetchVersions(peer: PeerInfo, key: string, timeoutMs: number): Promise<unknown> {
    const path = `${KEYS_PATH_PREFIX}${key}`;
    const res = await request(this.urlOf(peer, path), {
      method: 'GET', headers: this.sign('GET', path, ''), ...this.route(peer), headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    const text = await res.body.text();
    if (text.length > MAX_KEY_ANSWER_BYTES) return undefined;
    return JSON.parse(text) as unknown;
  }

  /** Waits (up to `ms`) for queued messages to go out, e.g. a leave before exit. */
  async flush(ms: number): Promise<void> {
    const idle = Promise.all([...this.queues.values()].map((q) => q.onIdle()));
    await Promise.race([idle, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
  }

  async close(): Promise<void> {
    for (const q of this.queues.values()) q.clear();
    const pools = [...this.pools.values()].map((e) => e.pool.close());
    this.pools.clear();
    await Promise.all([this.oneOff.close(), ...pools]);
  }
}
