/**
 * A node's relationship with its Point: register (retrying with backoff and
 * jitter for as long as it takes, while the node serves), heartbeat at a third
 * of the TTL, register again when the Point forgets us, ask it for peers, ask
 * it to vouch for strangers, and pass on reports of bad peers. Nothing here
 * blocks the node: an unreachable Point only means fewer new peers.
 *
 * With several Points (`--bootstrap A,B`) the roster (point-roster.ts, pure)
 * decides which one: the first that answers, then the others it names in
 * `/points`; when the current one stops answering heartbeats the link moves
 * to the next and registers there with a fresh proof, without a restart.
 * Every call (look, check, reports, remove) goes to the current Point;
 * reports that did not reach a Point that died are sent to the next one.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../log.js';
import { isCdnError } from '../errors.js';
import { formatHostPort } from '../host-port.js';
import { PointClient } from '../bootstrap/client.js';
import { backoffDelay } from '../bootstrap/backoff.js';
import type { NodeIdentity } from '../identity/keystore.js';
import type { PeerRegistry, Vouch } from '../gossip/shell/peer-auth.js';
import type { NodeId, PeerInfo } from '../gossip/core/types.js';
import type { PointLinkOptions } from './point-link-config.js';
import { MAX_POINTS, PointRoster } from './point-roster.js';

/** Bounds on reports that wait for the Point (one per address). */
const MAX_UNSENT_REPORTS = 64;
const MAX_REPORT_ATTEMPTS = 5;

export type PointState = 'not contacted' | 'registering' | 'registered' | 'unreachable' | 'refused';

const REFUSALS: readonly string[] = ['POINT_ERR_BANNED', 'POINT_ERR_BAD_JOIN_TOKEN', 'POINT_ERR_ID_TAKEN', 'POINT_ERR_BAD_PROOF'];

/** Which Points, and what we register with them: facts of this node, not knobs (those are PointLinkOptions). */
export interface PointTarget {
  /** the Points in order of preference, canonical (parsePointList), at least one */
  urls: readonly string[];
  /** the port peers reach us on (the Point takes our IP from the connection) */
  port: number;
  /** source address for connections to the Point, so it sees the address we serve on */
  localAddress?: string | undefined;
  clusterSecret?: string | undefined;
  /** PEM CA that verifies an https:// Point (--tls-ca) */
  ca?: Buffer | undefined;
}

export class PointLink implements PeerRegistry {
  private client: PointClient;
  private readonly roster: PointRoster;
  /** clients of Points we left, closing (their calls in flight end within their timeouts) */
  private readonly closing = new Set<Promise<void>>();
  private sessionKey: string | undefined;
  private ttlSec = 30;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** reports the Point has not taken yet (it was unreachable, or we were not registered): address → reason */
  private readonly unsentReports = new Map<string, { reason: string; attempts: number }>();
  state: PointState = 'not contacted';
  lastError: string | null = null;

  constructor(
    private readonly identity: NodeIdentity,
    private readonly target: PointTarget,
    private readonly options: PointLinkOptions,
    private readonly logger: Logger,
    private readonly onPeers: (peers: { info: PeerInfo; vouch: Vouch }[]) => void,
  ) {
    this.roster = new PointRoster(target.urls, { failoverAfter: options.failoverAfter });
    this.client = this.clientFor(this.roster.current);
  }

  /** The Point this node is registered with, or trying now. */
  get url(): string {
    return this.roster.current;
  }

  /** Every Point this node knows: its --bootstrap list, then those the current Point named. */
  known(): string[] {
    return this.roster.known();
  }

  /** Times the node moved away from a Point that stopped answering. */
  get failovers(): number {
    return this.roster.failovers;
  }

  private clientFor(url: string): PointClient {
    const { target, options } = this;
    return new PointClient({
      url, localAddress: target.localAddress, clusterSecret: target.clusterSecret, ca: target.ca,
      retries: options.requestRetries, timeoutMs: options.requestTimeoutMs,
    });
  }

  /** Talks to the roster's current Point from now on (if it is not the one we talk to). */
  private follow(): void {
    if (this.client.url === this.roster.current) return;
    const old = this.client;
    this.client = this.clientFor(this.roster.current);
    const closed: Promise<void> = old.close().catch(() => undefined).finally(() => this.closing.delete(closed));
    this.closing.add(closed);
  }

  start(): void {
    this.loop = this.run().catch((err: unknown) => this.logger.error({ err }, 'point link stopped unexpectedly'));
  }

  private async sleep(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let nextLook = 0;
    while (!this.stopped) {
      try {
        if (this.sessionKey === undefined) {
          this.state = 'registering';
          const reg = await this.client.reg({ port: this.target.port, publicKey: this.identity.publicKey, id: this.identity.id, sign: (data) => this.identity.sign(data) });
          this.sessionKey = reg.key;
          this.ttlSec = reg.ttl;
          this.state = 'registered';
          this.lastError = null;
          this.roster.registered();
          failures = 0;
          nextLook = 0;
          this.logger.info({ point: this.client.url, ttl: reg.ttl }, 'registered with the Point');
        } else {
          await this.client.heartbeat(this.sessionKey);
          this.state = 'registered';
          this.roster.heartbeatOk();
          failures = 0;
        }
        this.resendReports();
        if (performance.now() >= nextLook) {
          await this.learnPoints();
          await this.lookOnce();
          nextLook = performance.now() + this.options.lookIntervalMs;
        }
        await this.sleep(Math.max(200, (this.ttlSec * 1000) / 3));
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.lastError = err instanceof Error ? err.message : String(err);
        const code = isCdnError(err) ? err.code : undefined;
        if (code === 'POINT_ERR_UNAUTHORIZED' && this.sessionKey !== undefined) {
          this.sessionKey = undefined; // the Point forgot us (TTL lapsed, or it restarted): register again
          continue;
        }
        const failed = this.client.url;
        this.state = code !== undefined && REFUSALS.includes(code) ? 'refused' : 'unreachable';
        if (this.sessionKey === undefined) {
          // registration failed: the next Point at once, or a wait once every known Point failed in a row
          const { wait } = this.roster.registrationFailed();
          this.follow();
          if (failures === 1 || failures % 10 === 0 || this.client.url !== failed) {
            this.logger.warn({ point: failed, err: this.lastError, state: this.state, next: this.client.url }, 'the Point is not answering as it should; still serving, will retry');
          }
          if (!wait) continue;
        } else if (this.roster.heartbeatFailed() === 'move') {
          this.logger.warn({ point: failed, err: this.lastError, next: this.roster.current, failovers: this.roster.failovers },
            'the Point stopped answering heartbeats: moving to another Point (still serving)');
          this.sessionKey = undefined;
          this.follow();
          this.freshReportBudget();
          continue;
        } else if (failures === 1 || failures % 10 === 0) {
          this.logger.warn({ point: failed, err: this.lastError, state: this.state }, 'the Point is not answering as it should; still serving, will retry');
        }
        await this.sleep(backoffDelay(Math.min(failures, 10), this.options.retry, Math.random) + this.options.retry.baseMs);
      }
    }
  }

  /** Asks the current Point for the others (best effort): the roster merges them, bounded. */
  private async learnPoints(): Promise<void> {
    if (this.sessionKey === undefined) return;
    try {
      const answer = await this.client.points(this.sessionKey, MAX_POINTS);
      if (this.roster.learn(answer.map((p) => p.url))) this.logger.info({ point: this.client.url, known: this.roster.known() }, 'learned the Points of this cluster');
    } catch (err) {
      this.logger.debug({ err }, 'could not ask the Point for the other Points');
    }
  }

  /** Reports that failed against a Point we left get their full number of attempts at the next one. */
  private freshReportBudget(): void {
    for (const pending of this.unsentReports.values()) if (pending.attempts > 0) pending.attempts = 0;
  }

  private async lookOnce(): Promise<void> {
    if (this.sessionKey === undefined) return;
    const nodes = await this.client.look(this.sessionKey, this.options.lookCount);
    this.onPeers(nodes.map((n) => ({
      info: { id: n.id, address: formatHostPort(n.ip, n.port), publicKey: n.publicKey },
      vouch: { ip: n.ip, port: n.port, publicKey: n.publicKey },
    })));
  }

  /** Asks for peers now (e.g. when we know none). */
  async lookNow(): Promise<void> {
    await this.lookOnce().catch((err: unknown) => this.logger.debug({ err }, 'look failed'));
  }

  async vouch(id: NodeId): Promise<Vouch | 'unknown' | 'unreachable'> {
    if (this.sessionKey === undefined) return 'unreachable';
    try {
      const rec = await this.client.check(this.sessionKey, id);
      return { ip: rec.ip, port: rec.port, publicKey: rec.publicKey };
    } catch (err) {
      const code = isCdnError(err) ? err.code : undefined;
      if (code === 'POINT_ERR_NOT_FOUND') return 'unknown';
      return 'unreachable';
    }
  }

  /** Reports an address that sent bad data; the Point bans it once a quorum of nodes agree. */
  reportBadPeer(ip: string, reason: string): void {
    const pending = this.unsentReports.get(ip);
    if (pending !== undefined) pending.reason = reason.slice(0, 200);
    else if (this.unsentReports.size < MAX_UNSENT_REPORTS) this.unsentReports.set(ip, { reason: reason.slice(0, 200), attempts: 0 });
    else this.logger.warn({ ip }, 'too many reports waiting for the Point: this one is dropped');
    this.sendReport(ip);
  }

  /** Sends the reports that have not reached the Point yet, each at most MAX_REPORT_ATTEMPTS times. */
  private resendReports(): void {
    for (const ip of this.unsentReports.keys()) this.sendReport(ip);
  }

  private sendReport(ip: string): void {
    const key = this.sessionKey;
    const pending = this.unsentReports.get(ip);
    if (key === undefined || pending === undefined || pending.attempts < 0) return;
    const attempt = ++pending.attempts;
    pending.attempts = -attempt; // in flight: not sent again until it settles
    this.client.ban(key, ip, pending.reason).then(
      (r) => {
        this.unsentReports.delete(ip);
        this.logger.warn({ ip, reason: pending.reason, reports: r.reports, banned: r.banned }, 'reported a bad peer to the Point');
      },
      (err: unknown) => {
        const gaveUp = attempt >= MAX_REPORT_ATTEMPTS || (isCdnError(err) && err.status < 500 && err.code !== 'POINT_ERR_UNAUTHORIZED');
        if (gaveUp) this.unsentReports.delete(ip);
        else pending.attempts = attempt;
        this.logger.warn({ ip, err: err instanceof Error ? err.message : String(err), attempt, gaveUp }, 'could not report a bad peer to the Point');
      },
    );
  }

  /** Reports a peer that stopped answering. */
  reportUnreachable(id: NodeId): void {
    const key = this.sessionKey;
    if (key === undefined) return;
    this.client.remove(key, id).catch((err: unknown) => this.logger.debug({ err }, 'could not report an unreachable peer'));
  }

  /** Tells the Point we are leaving (best effort), then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    // A call in flight to a Point that does not answer may take its full timeout: don't wait for it.
    await Promise.race([this.loop, delay(500)]);
    const key = this.sessionKey;
    if (key !== undefined) await this.client.remove(key, this.identity.id).catch(() => undefined);
    await Promise.all([this.client.close(), ...this.closing]);
  }
}
