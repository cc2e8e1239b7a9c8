/**
 * The gossip runtime: the protocol core brought to life over HTTP. It owns
 * the real timers (tick, peer persistence), the HTTP transport, the body
 * fetcher, admission of incoming requests (signature, then the Point's
 * vouch), read-through for the HTTP API, and the graceful leave.
 */
import { createHash, randomUUID } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { CdnError, isCdnError } from '../../errors.js';
import { formatHostPort } from '../../host-port.js';
import type { NodeIdentity } from '../../identity/keystore.js';
import type { Version } from '../../consensus/types.js';
import { ORIGIN_KEY_MISMATCH, versionSchema } from '../../consensus/schema.js';
import { ZodError } from 'zod';
import { VersionVerifier, type RefusedVersion, type VerifierStats } from './version-verifier.js';
import { GossipCore } from '../core/gossip-core.js';
import type { MembershipOptions } from '../core/membership-config.js';
import type { DataPlaneConfig } from '../core/data-plane-config.js';
import type { PlacementConfig } from '../core/placement-config.js';
import type { CustodyStats } from '../core/custody.js';
import { VerifiedSlice } from './remote-body.js';
import { RejoinReads } from './rejoin-reads.js';
import type { Readable } from 'node:stream';
import { HttpTransport } from './http-transport.js';
import { PLAIN_DIALING, type Dialing } from '../../tls.js';
import { BodyFetcher, type BodySink } from './body-fetcher.js';
import type { BodyFetcherOptions, HttpTransportOptions, RuntimeOptions } from './runtime-config.js';
import { PeerAuth, type PeerRegistry, type Vouch } from './peer-auth.js';
import { ReplayGuard, verifyRequest, type VerifiedSender } from './signing.js';
import { LIMITS, PROTOCOL_VERSION, parseGossipMessage, peerInfoSchema } from '../core/messages.js';
import { sameVersion } from '../../consensus/versions.js';
import type { Clock, MemberRecord, NodeId, PeerInfo, VersionStore } from '../core/types.js';
import { monotonicClock, systemWallClock } from '../../wall-clock.js';
import { PeerClocks } from './peer-clocks.js';
import type { RevocationHooks } from '../core/revocations.js';

/** What the runtime needs of the Point beyond vouching. */
export interface Bootstrap extends PeerRegistry {
  reportBadPeer(ip: string, reason: string): void;
  reportUnreachable(id: NodeId): void;
  lookNow(): Promise<void>;
}

/** Everything the runtime is built from, each part built by the options module (the node's config holds them all). */
export interface GossipRuntimeOptions {
  readonly runtime: RuntimeOptions;
  /** the core's tick() runs every membership.tickMs */
  readonly membership: MembershipOptions;
  readonly dataPlane: DataPlaneConfig;
  readonly placement: PlacementConfig;
  readonly transport: HttpTransportOptions;
  readonly bodyFetcher: BodyFetcherOptions;
}

export interface GossipMetrics {
  messagesSent: Record<string, number>;
  bytesSent: Record<string, number>;
  transport: Record<string, number>;
  peers: Record<string, number>;
  events: Record<string, number>;
  /** fetched and served: whole bodies between nodes; streamed: received to answer a read here without keeping the body (partial transfers too); staged: write copies sent and received */
  bodyBytes: { fetched: number; served: number; streamed: number; staged_sent: number; staged_received: number };
  bodyQueue: number;
  custody: CustodyStats;
  /** versions from peers refused by their origin signature, by reason (version-verifier.ts) */
  versionsRefused: VerifierStats['refused'];
  /** origin signatures checked, and versions accepted from the verified-signature cache */
  signatureChecks: { verified: number; cached: number };
  /** the active view (--max-peers): its size, its bound, peers with a keep-alive pool, open connections by kind */
  links: { active: number; maxPeers: number; kept: number; keptConnections: number; oneOffConnections: number };
}

/** A verified sender the Point vouched for, with the address it serves on. */
export interface AdmittedSender extends VerifiedSender {
  peer: PeerInfo;
}

/** What the runtime asks of the blob store beyond the protocol's slice. */
export interface RuntimeStore extends VersionStore, BodySink {
  freeBytes(): number;
  /** staged writes from other nodes (write copies > 1), still waiting */
  stagedVersions(): readonly { readonly version: Version; readonly since: number }[];
  unstageVersion(version: Version): Promise<void>;
}

/** The host of a peer's HOST:PORT address, brackets of an IPv6 literal removed: what the Point bans. */
function hostOf(address: string): string {
  return address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

export const PEERS_FILE = 'peers.json';
const peersFile = z.strictObject({
  version: z.literal(1),
  peers: z.array(peerInfoSchema).max(LIMITS.maxMembers),
  /** wall clock (ms) of the last message from any peer: a node away longer than the tombstone grace rejoins pull-only */
  lastContact: z.number().int().min(0).optional(),
});
const keyAnswer = z.strictObject({ versions: z.array(versionSchema).max(LIMITS.maxVersions), held: z.array(z.string()).max(LIMITS.maxHeld) });

export class GossipRuntime {
  readonly core: GossipCore;
  readonly transport: HttpTransport;
  readonly fetcher: BodyFetcher;
  /** client reads of keys a pull-only rejoin holds back wait for the witnesses */
  private readonly rejoinReads: RejoinReads;
  private readonly auth: PeerAuth;
  private readonly replay: ReplayGuard;
  /** for timers (the core's clock, the Point's vouches): never follows a wall-clock step */
  private readonly monotonic: Clock;
  /** for what crosses the wire or the disk: signatures, last contact, version ages */
  readonly wall: Clock;
  /** peers' clock offsets and whether they accept our messages */
  readonly peerClocks: PeerClocks;
  private readonly badMessages = new Map<string, number>();
  /** every version from a peer passes here before the core or the store sees it */
  readonly verifier = new VersionVerifier();
  private tickTimer: NodeJS.Timeout | undefined;
  private persistTimer: NodeJS.Timeout | undefined;
  private stagedTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly identity: NodeIdentity,
    readonly self: PeerInfo,
    private readonly store: RuntimeStore,
    private readonly bootstrap: Bootstrap,
    private readonly dataDir: string,
    private readonly logger: Logger,
    private readonly options: GossipRuntimeOptions,
    /** source address for connections to peers, so they see the address this node serves on */
    localAddress?: string,
    clocks: { readonly wall: Clock; readonly monotonic: Clock } = { wall: systemWallClock, monotonic: monotonicClock },
    /** how peers are dialled: http, or https verified against the node's CA */
    dialing: Dialing = PLAIN_DIALING,
    /** client-token revocations (the node has --auth-public-key); absent: they are ignored */
    revocationHooks?: RevocationHooks,
  ) {
    this.wall = clocks.wall;
    this.monotonic = clocks.monotonic;
    this.transport = new HttpTransport(identity, this.wall, logger.child({ part: 'transport' }), options.transport, localAddress, dialing);
    this.peerClocks = new PeerClocks(this.monotonic, options.dataPlane.maxClockSkewMs, logger.child({ part: 'clocks' }));
    this.transport.onAnswer = (peer, answer) => this.peerClocks.answered(peer, answer);
    this.core = new GossipCore(
      { self, zone: options.placement.zone, transport: this.transport, clock: this.monotonic, wall: this.wall, random: { next: Math.random }, logger },
      store,
      { membership: options.membership, data: options.dataPlane, placement: options.placement },
      (version) => {
        // an owned body comes before cached copies of others
        this.core.custody.makeRoom(version.size, () => this.store.freeBytes());
        void this.fetcher.want(version);
      },
      revocationHooks,
    );
    // keep-alive connections only to the active view (proposals/0001, "Peer links")
    this.transport.isActive = (id) => this.core.membership.isActive(id);
    this.fetcher = new BodyFetcher({
      source: this.transport,
      sink: store,
      peer: (id) => this.core.membership.peer(id),
      holders: (sha) => this.core.custody.candidates(sha),
      anyPeers: (n) => this.core.membership.sample(n),
      onStored: (sha, size) => {
        this.core.data.bodyHeld(sha);
        // fetched for a read, not owned here: it is cache (owned ones are left alone)
        this.core.custody.cachedForRead(sha, size);
      },
      onBadPeer: (peer, reason) => {
        // Ask the Point about it again before its next request is believed.
        this.auth.forget(peer.id);
        this.badPeer(hostOf(peer.address), reason);
      },
      logger: logger.child({ part: 'body-fetcher' }),
    }, options.bodyFetcher);
    this.auth = new PeerAuth(bootstrap, this.monotonic);
    this.replay = new ReplayGuard(this.wall, { windowMs: options.dataPlane.maxClockSkewMs });
    this.rejoinReads = new RejoinReads(this.core.tombstones, options.runtime.lookupTimeoutMs);
  }

  async start(): Promise<void> {
    const seeds = await this.loadPeers();
    // Peers from our own persisted list were vouched for before: while the
    // Point cannot be asked, they stay welcome (they are re-checked once it answers).
    for (const p of seeds) {
      const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(p.address);
      if (m?.[1] !== undefined) this.auth.trust(p.id, { ip: m[1], port: Number(m[2]), publicKey: p.publicKey });
    }
    this.core.start(seeds);
    // away longer than the tombstone grace (or no record of contact, with keys older than it): rejoin pull-only
    if (this.lastContact === undefined || this.wall.now() - this.lastContact > this.options.dataPlane.tombstoneGraceMs) this.core.tombstones.enterPullOnly();
    this.rejoinReads.started();
    this.started = true;
    this.tickTimer = setInterval(() => {
      this.core.tick();
      this.transport.prune();
    }, this.options.membership.tickMs);
    this.tickTimer.unref();
    this.persistTimer = setInterval(() => { void this.savePeers(); }, this.options.runtime.persistEveryMs);
    this.persistTimer.unref();
    this.stagedTimer = setInterval(() => { void this.resolveStaged(); }, this.options.placement.writeTimeoutMs);
    this.stagedTimer.unref();
    this.logger.info({ seeds: seeds.length }, 'gossip started');
  }

  /** Peers handed out by the Point: trusted without a further check, and added to membership. */
  addPeersFromPoint(peers: { info: PeerInfo; vouch: Vouch }[]): void {
    const fresh = peers.filter((p) => p.info.id !== this.self.id);
    for (const p of fresh) this.auth.trust(p.info.id, p.vouch);
    if (this.started) this.core.membership.addSeeds(fresh.map((p) => p.info));
  }

  /**
   * Checks a node-to-node request: signature, freshness, replay, then whether
   * the sender is registered, not banned, and speaking from its address.
   */
  async authenticate(headers: Record<string, string | string[] | undefined>, method: string, path: string, body: Buffer, ip: string): Promise<AdmittedSender> {
    const sender = verifyRequest(headers, method, path, body, this.wall, this.replay);
    const vouch = await this.auth.admit(sender.id, sender.publicKey, ip);
    const peer: PeerInfo = { id: sender.id, address: formatHostPort(ip, vouch.port), publicKey: sender.publicKey };
    // A registered peer we had not met yet (the Point vouched for it): it is a member now.
    if (this.started && this.core.membership.peer(sender.id) === undefined) this.core.membership.addSeeds([peer]);
    return { ...sender, peer };
  }

  /** A message body from an authenticated peer. */
  async receive(body: Buffer, sender: AdmittedSender, ip: string): Promise<void> {
    let message;
    try {
      message = parseGossipMessage(JSON.parse(body.toString('utf8')));
    } catch (err) {
      if (err instanceof ZodError && err.issues.some((i) => i.code === 'custom' && i.params?.refusal === ORIGIN_KEY_MISMATCH.refusal)) {
        // a version whose key is not its origin's is a forgery in another node's name, not a slip: refused whole, reported at once
        this.verifier.stats.refused.key_mismatch++;
        this.refused(sender.peer, ip, 'gossip', 'key_mismatch', 1);
        throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'a version\'s originKey is not the key of its origin');
      }
      this.malformed(ip, 'unparseable gossip message');
      throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', err instanceof Error ? err.message.slice(0, 300) : 'malformed message');
    }
    if (message.from !== sender.id) {
      this.malformed(ip, 'message from field does not match the signer');
      throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'the message says it is from another node than the one that signed it');
    }
    if (message.type === 'versions' || message.type === 'unstage') {
      // versions whose origin did not sign them as they are go no further; the rest of the message still applies
      const { kept, refused } = this.verifier.filter(message.versions);
      if (refused.length > 0) {
        this.refusedVersions(refused, sender.peer, ip, 'gossip');
        message = { ...message, versions: kept };
      }
    }
    this.contact();
    if (message.type === 'unstage') {
      // only the writer can say its own staged writes were never committed
      for (const v of message.versions) if (v.origin === sender.id) await this.store.unstageVersion(v);
    }
    await this.core.handle(message, sender.peer);
  }

  /**
   * Write copies > 1: stages `version` (and its body) on other nodes, owners
   * first, and resolves once writeCopies − 1 of them hold it durably. Throws
   * CDN_ERR_TOO_FEW_COPIES when that many cannot be had within
   * placement.writeTimeoutMs; the nodes that did stage it are told to forget it.
   */
  async replicate(version: Version, body: (() => Readable) | undefined): Promise<void> {
    const needed = this.core.custody.writeCopies - 1;
    if (needed <= 0) return;
    const { custody } = this.core;
    const place = version.tombstone ? createHash('sha256').update(version.key).digest('hex') : version.sha256;
    // every other owner gets it now (they would fetch it anyway), and more in line if too few of them are live
    const others = custody.owners(place).filter((id) => id !== this.self.id).length;
    const targets: PeerInfo[] = [];
    for (const id of custody.placement.ranked(place, needed + 2)) {
      const peer = id === this.self.id ? undefined : this.core.membership.peer(id);
      if (peer !== undefined && targets.length < Math.max(needed, others)) targets.push(peer);
    }
    const timeoutMs = this.options.placement.writeTimeoutMs;
    if (targets.length < needed) {
      throw new CdnError('CDN_ERR_TOO_FEW_COPIES', `the write needs ${needed + 1} copies but only ${targets.length + 1} live nodes can hold it; nothing was stored`);
    }
    const staged: PeerInfo[] = [];
    let failed = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CdnError('CDN_ERR_TOO_FEW_COPIES',
        `only ${staged.length + 1} of ${needed + 1} copies were confirmed within ${timeoutMs} ms; nothing was stored`)), timeoutMs);
      timer.unref();
      for (const peer of targets) {
        this.transport.stage(peer, version, body?.(), timeoutMs).then(() => {
          staged.push(peer);
          if (!version.tombstone) this.bodyBytesStagedSent += version.size;
          if (staged.length === needed) { clearTimeout(timer); resolve(); }
        }, (err: unknown) => {
          this.logger.debug({ err, peer: peer.id }, 'a staged write failed');
          if (++failed > targets.length - needed) {
            clearTimeout(timer);
            reject(new CdnError('CDN_ERR_TOO_FEW_COPIES', `only ${staged.length + 1} of ${needed + 1} copies could be made (${failed} nodes refused or failed); nothing was stored`));
          }
        });
      }
    }).catch((err: unknown) => {
      // tell those that did stage it; stragglers that finish later are resolved by asking us (resolveStaged)
      for (const peer of targets) this.transport.send(peer, { v: PROTOCOL_VERSION, from: this.self.id, type: 'unstage', versions: [version] });
      throw err;
    });
  }

  /**
   * Staged writes from others that their writer has neither committed (the
   * version would have arrived and settled them) nor aborted: ask the writer.
   * It has the version: commit it here too. It answers without it: it never
   * committed (a version stays in its writer's set until something
   * dominates it, which settles it here as well): forget it. It is gone for
   * good (dead past the hand-off delay, or left): the write may have been
   * acknowledged, so this copy is promoted.
   */
  private async resolveStaged(): Promise<void> {
    const now = Date.now();
    const waitMs = 2 * this.options.placement.writeTimeoutMs;
    for (const { version, since } of this.store.stagedVersions()) {
      if (now - since < waitMs) continue;
      const writer = this.core.membership.members().find((m) => m.id === version.origin);
      const gone = writer === undefined || writer.state === 'left'
        || (writer.state === 'dead' && now - writer.stateSince >= this.options.placement.handoffDelayMs);
      if (gone) {
        await this.store.applyRemote([version]).catch(() => undefined);
        continue;
      }
      const peer = this.core.membership.peer(version.origin);
      if (peer === undefined) continue;
      try {
        const parsed = keyAnswer.safeParse(await this.transport.fetchVersions(peer, version.key, this.options.runtime.lookupTimeoutMs));
        if (!parsed.success) continue;
        if (parsed.data.versions.some((v) => sameVersion(v, version))) await this.store.applyRemote([version]);
        else await this.store.unstageVersion(version);
      } catch {
        // the writer did not answer: ask again at the next sweep
      }
    }
  }

  /**
   * A staged write (PUT /gossip/stage): its version must carry its origin's
   * signature like any other. @throws GOSSIP_ERR_BAD_MESSAGE when it does not
   * (the sender is reported).
   */
  admitStaged(version: Version, sender: AdmittedSender, ip: string): void {
    const reason = this.verifier.check(version);
    if (reason === undefined) return;
    this.refusedVersions([{ version, reason }], sender.peer, ip, 'stage');
    throw new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'the staged version is not signed by its origin');
  }

  /** Versions a peer sent that failed their origin signature: dropped by the caller; logged, and the peer reported. */
  private refusedVersions(refused: readonly RefusedVersion[], peer: PeerInfo, ip: string, path: string): void {
    const first = refused[0];
    if (first === undefined) return;
    this.logger.warn({ peer: peer.id, ip, path, refused: refused.length, reason: first.reason, key: first.version.key, origin: first.version.origin },
      'refused versions not signed by their origin');
    this.refused(peer, ip, path, first.reason, refused.length);
  }

  private refused(peer: PeerInfo, ip: string, path: string, reason: string, count: number): void {
    // ask the Point about it again before its next request is believed
    this.auth.forget(peer.id);
    this.badPeer(ip, `sent ${count} version(s) failing their origin signature (${reason}, via ${path})`);
  }

  private malformed(ip: string, reason: string): void {
    const n = (this.badMessages.get(ip) ?? 0) + 1;
    this.badMessages.set(ip, n);
    if (this.badMessages.size > this.options.runtime.badMessageAddresses) this.badMessages.clear();
    if (n === this.options.runtime.reportAfterBadMessages) this.badPeer(ip, reason);
  }

  private badPeer(ip: string, reason: string): void {
    this.logger.warn({ ip, reason }, 'peer sent bad data');
    this.bootstrap.reportBadPeer(ip, reason);
  }

  /** A local client wrote this version: spread it. */
  published(version: Version): void {
    if (this.started) this.core.published(version);
  }

  /**
   * Read-through: make the body of `version` available here, fetching it from
   * a holder (single-flight per body), when this node owns it or its cache
   * may keep it. Resolves true once it is held; false when it is not (the
   * caller then streams it from an owner: openRemoteBody).
   */
  async obtainBody(version: Version): Promise<boolean> {
    if (this.store.hasBody(version.sha256)) {
      this.core.custody.touched(version.sha256);
      return true;
    }
    const { custody } = this.core;
    if (!custody.fullReplication && !custody.owns(version.sha256) && !custody.cacheAdmits(version.size)) return false;
    custody.makeRoom(version.size, () => this.store.freeBytes());
    if (this.store.freeBytes() < version.size) return false;
    const wait = this.fetcher.want(version);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), this.options.runtime.readThroughTimeoutMs).unref());
    return Promise.race([wait, timeout]);
  }

  /**
   * A client read of `key` waits while a pull-only rejoin holds it back (it
   * may have been deleted while this node was away): until witnesses settle
   * it, or runtime.lookupTimeoutMs (rejoin-reads.ts), with whether it is still
   * held back. Undefined: read at once.
   */
  settleRejoin(key: string): Promise<boolean> | undefined {
    return this.rejoinReads.settle(key);
  }

  /** Read-through of a key never heard of: ask a few peers for their versions of it. */
  async lookup(key: string): Promise<boolean> {
    const peers = this.core.membership.sample(this.options.runtime.lookupFanout);
    const answers = await Promise.all(peers.map(async (peer) => {
      try {
        const parsed = keyAnswer.safeParse(await this.transport.fetchVersions(peer, key, this.options.runtime.lookupTimeoutMs));
        if (!parsed.success) return [];
        const { kept, refused } = this.verifier.filter(parsed.data.versions.filter((v) => v.key === key));
        if (refused.length > 0) this.refusedVersions(refused, peer, hostOf(peer.address), 'lookup');
        return kept;
      } catch {
        return [];
      }
    }));
    const versions = answers.flat();
    if (versions.length === 0) return false;
    await this.store.applyRemote(versions);
    return true;
  }

  /**
   * Bytes [start, end] of a body this node does not hold, streamed from the
   * first owner or holder that answers, verified as it passes (remote-body.ts).
   * @throws CDN_ERR_BODY_UNAVAILABLE when no peer could start sending it.
   */
  async openRemoteBody(version: Version, start: number, end: number): Promise<Readable> {
    for (const id of this.core.custody.candidates(version.sha256)) {
      const peer = this.core.membership.peer(id);
      if (peer === undefined) continue;
      try {
        const { size, body } = await this.transport.fetchBody(peer, version.sha256, this.options.bodyFetcher.stallTimeoutMs);
        if (size !== version.size) {
          body.destroy(); // the transport listens for its abort error
          this.badPeer(peer.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''), `body ${version.sha256} announced ${size} bytes, the version says ${version.size}`);
          continue;
        }
        const slice = new VerifiedSlice(version.sha256, version.size, start, end);
        body.on('error', (err) => slice.destroy(err));
        body.on('data', (chunk: Buffer) => { this.bodyBytesStreamed += chunk.length; });
        body.pipe(slice);
        return slice;
      } catch (err) {
        this.logger.debug({ err, peer: peer.id, sha256: version.sha256 }, 'streaming a body from a peer failed; trying the next');
      }
    }
    throw new CdnError('CDN_ERR_BODY_UNAVAILABLE', `the body ${version.sha256} is not held here and no peer could provide it`);
  }

  /** How many durable copies a write waits for (placement.writeCopies). */
  get writeCopies(): number {
    return this.core.custody.writeCopies;
  }

  /** Lost a body to bit rot: fetch it again. */
  bodyLost(sha256: string, size: number): void {
    // a lost cache copy is not worth a fetch; an owned one is (custody's sweep asks too)
    this.core.custody.markDirty();
    if (this.core.custody.owns(sha256)) void this.fetcher.want({ sha256, size, origin: '' });
  }

  /** Body bytes sent to peers from /gossip/bodies (counted by the HTTP layer). */
  bodyBytesServed = 0;
  /** Body bytes of write copies this node accepted on /gossip/stage (counted by the HTTP layer). */
  bodyBytesStagedReceived = 0;
  private bodyBytesStagedSent = 0;
  private bodyBytesStreamed = 0;

  /** Everything an operator would ask about the gossip layer, for /metrics. */
  metrics(): GossipMetrics {
    const byState: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const m of this.core.membership.members()) byState[m.state] = (byState[m.state] ?? 0) + 1;
    const t = this.transport.stats;
    const d = this.core.data.stats();
    const m = this.core.membership.stats;
    const f = this.fetcher.stats;
    return {
      messagesSent: Object.fromEntries(Object.entries(t.byType).map(([k, v]) => [k, v.messages])),
      bytesSent: Object.fromEntries(Object.entries(t.byType).map(([k, v]) => [k, v.bytes])),
      transport: { failed: t.failed, dropped: t.dropped },
      peers: byState,
      events: {
        rounds: d.rounds, versionsAdopted: d.versionsAdopted, rumorsForwarded: d.rumorsForwarded, staleRefused: d.staleRefused, aheadRefused: d.aheadRefused,
        antiEntropySessions: d.aeSessions, suspicionsRaised: m.suspicionsRaised, refutations: m.refutations, declaredDead: m.declaredDead,
        bodiesFetched: f.fetched, bodyFetchFailures: f.failures, badBodies: f.badBodies,
        rejoinKeysForgotten: this.core.tombstones.stats().rejoinForgotten, rejoinKeysReleased: this.core.tombstones.stats().rejoinReleased,
      },
      bodyBytes: {
        fetched: f.bytes, served: this.bodyBytesServed, streamed: this.bodyBytesStreamed,
        staged_sent: this.bodyBytesStagedSent, staged_received: this.bodyBytesStagedReceived,
      },
      bodyQueue: f.queued,
      custody: this.core.custody.stats(),
      versionsRefused: { ...this.verifier.stats.refused },
      signatureChecks: { verified: this.verifier.stats.verified, cached: this.verifier.stats.cacheHits },
      links: this.links(),
    };
  }

  /** The active view and the connections behind it. */
  links(): GossipMetrics['links'] {
    const open = this.transport.openConnections();
    return {
      active: this.core.membership.activePeers().length,
      maxPeers: this.options.membership.maxPeers,
      kept: this.transport.keptPeers,
      keptConnections: open.kept,
      oneOffConnections: open.oneOff,
    };
  }

  /** The active peers (all live members at or below --max-peers of them). */
  activePeers(): PeerInfo[] {
    return this.core.membership.activePeers();
  }

  members(): MemberRecord[] {
    return this.core.membership.members();
  }

  private async loadPeers(): Promise<PeerInfo[]> {
    try {
      const parsed = peersFile.safeParse(JSON.parse(await readFile(join(this.dataDir, PEERS_FILE), 'utf8')));
      if (!parsed.success) return [];
      this.lastContact = parsed.data.lastContact;
      return parsed.data.peers.filter((p) => p.id !== this.self.id);
    } catch {
      return [];
    }
  }

  /** Wall clock of the last message from a peer (persisted with the peer list); undefined before any. */
  private lastContact: number | undefined;

  /**
   * A message arrived: if nothing had for longer than the tombstone grace
   * (down, or cut off), rejoin pull-only before anything of ours goes out.
   */
  private contact(): void {
    const now = this.wall.now();
    if (this.lastContact !== undefined && now - this.lastContact > this.options.dataPlane.tombstoneGraceMs && !this.core.tombstones.pullOnly) {
      this.core.tombstones.enterPullOnly();
    }
    this.lastContact = now;
  }

  /**
   * Tombstone collection (the node's sweep): keys deleted longer than the
   * grace period ago are forgotten once every live member has confirmed it
   * holds them as tombstones or not at all (tombstones.ts); those not yet
   * confirmed are asked about, for the next sweep.
   */
  async collectTombstones(nowMs: number, store: { tombstoneCandidates(now: number): string[]; collectTombstones(now: number, allowed: ReadonlySet<string>): Promise<number> }): Promise<number> {
    const allowed = this.core.tombstones.collectable(store.tombstoneCandidates(nowMs));
    return allowed.length === 0 ? 0 : store.collectTombstones(nowMs, new Set(allowed));
  }

  private async savePeers(): Promise<void> {
    const path = join(this.dataDir, PEERS_FILE);
    const tmp = `${path}.${randomUUID()}.tmp`;
    try {
      const fh = await open(tmp, 'w');
      try {
        const saved = { version: 1, peers: this.core.membership.snapshot().slice(0, LIMITS.maxMembers), ...(this.lastContact === undefined ? {} : { lastContact: this.lastContact }) };
        await fh.writeFile(JSON.stringify(saved));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (err) {
      this.logger.debug({ err }, 'could not save the peer list');
    }
  }

  /** Graceful leave: tell peers, give the messages a moment to go, stop everything. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.tickTimer);
    clearInterval(this.persistTimer);
    clearInterval(this.stagedTimer);
    this.core.leave();
    await this.transport.flush(this.options.runtime.leaveFlushMs);
    await this.savePeers();
    await this.fetcher.stop();
    await this.transport.close();
  }

  /** For errors the HTTP layer maps: anything not a CdnError is a bad message. */
  static asGossipError(err: unknown): unknown {
    return isCdnError(err) ? err : new CdnError('GOSSIP_ERR_BAD_MESSAGE', 'malformed request');
  }
}
