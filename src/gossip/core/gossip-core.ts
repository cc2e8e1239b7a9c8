/**
 * The protocol core: membership (control plane) and the data plane, composed
 * over one injected environment. It stamps every outgoing message's envelope
 * with piggybacked membership updates and routes every incoming message to
 * both planes. Still no timers and no I/O: the runtime (or the simulator)
 * calls tick() and handle().
 */
import type { Version } from '../../consensus/types.js';
import { Membership, type MembershipOptions } from './membership.js';
import { DataPlane, type DataPlaneOptions } from './data-plane.js';
import { Custody } from './custody.js';
import type { PlacementConfig } from './placement-config.js';
import { Tombstones } from './tombstones.js';
import { LIMITS, type GossipMessage } from './messages.js';
import { RevocationGossip, type RevocationHooks } from './revocations.js';
import type { NodeId, PeerInfo, ProtocolEnv, Transport, VersionStore } from './types.js';

export interface GossipCoreOptions {
  membership: MembershipOptions;
  data: DataPlaneOptions;
  placement: PlacementConfig;
}

export class GossipCore {
  readonly membership: Membership;
  readonly data: DataPlane;
  /** which bodies this node keeps: owned, hand-off, cache (placement) */
  readonly custody: Custody;
  /** tombstone collection only once every live member holds it; pull-only rejoin after a long absence */
  readonly tombstones: Tombstones;
  /** revocations of client tokens, carried as opaque strings (the shell verifies them) */
  readonly revocations: RevocationGossip;

  constructor(
    readonly env: ProtocolEnv,
    store: VersionStore,
    options: GossipCoreOptions,
    onBodyNeeded: (version: Version, holders: NodeId[]) => void,
    /** absent: this node takes no revocations (no client tokens) */
    revocationHooks?: RevocationHooks,
  ) {
    const piggybacking: Transport = {
      send: (to: PeerInfo, message: GossipMessage) => {
        if (message.updates !== undefined) {
          env.transport.send(to, message);
          return;
        }
        const updates = this.membership.piggyback();
        env.transport.send(to, updates === undefined || updates.length === 0 ? message : { ...message, updates });
      },
    };
    const inner: ProtocolEnv = { ...env, transport: piggybacking };
    this.membership = new Membership(inner, options.membership);
    this.data = new DataPlane(inner, {
      store,
      peers: this.membership,
      onBodyNeeded: (v, holders) => this.custody.bodyNeeded(v, holders),
      mayOffer: (key) => this.tombstones.mayOffer(key),
    }, options.data);
    this.tombstones = new Tombstones(inner, {
      store,
      peers: this.membership,
      live: () => this.membership.members().filter((m) => m.state === 'alive' || m.state === 'suspect'),
      forget: (key) => store.forgetKey(key),
    }, {
      graceMs: options.data.tombstoneGraceMs,
      witnessUptimeMs: options.data.witnessUptimeMs,
      witnesses: 2,
      askEveryMs: options.data.antiEntropyIntervalMs * 5,
      askPeersPerSweep: 64,
      askKeysPerSweep: 4 * LIMITS.maxAeWant,
    });
    this.revocations = new RevocationGossip(inner, this.membership, revocationHooks, {
      fanout: 3, rounds: 3, syncEveryMs: options.data.antiEntropyIntervalMs,
    });
    this.custody = new Custody(inner, {
      store,
      peers: this.membership,
      members: () => this.membership.members(),
      knownHolders: (sha) => this.data.holders(sha),
      onBodyNeeded,
      onBodyDropped: (sha) => this.data.bodyDropped(sha),
    }, options.placement);
  }

  /** Starts with the peers known so far (from the Point, or persisted from the last run). */
  start(seeds: PeerInfo[]): void {
    this.data.start();
    this.membership.addSeeds(seeds);
  }

  tick(): void {
    this.membership.tick();
    this.data.tick();
    this.custody.tick();
    this.tombstones.tick();
    this.revocations.tick();
  }

  /**
   * Every message from a peer, already verified and parsed. `sender`, when
   * the runtime knows it, lets membership answer a peer not yet in its table.
   */
  async handle(message: GossipMessage, sender?: PeerInfo): Promise<void> {
    if (message.from === this.env.self.id) return;
    this.membership.handle(message, sender);
    this.custody.handle(message);
    this.tombstones.handle(message);
    await this.revocations.handle(message);
    await this.data.handle(message);
  }

  /** A version written through this node's client API: spread it. */
  published(version: Version): void {
    this.data.published(version);
  }

  leave(): void {
    this.membership.leave();
  }
}
