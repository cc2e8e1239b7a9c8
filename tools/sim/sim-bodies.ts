/**
 * Body transfers in the simulator. Bodies are not gossip messages (the
 * runtime pulls them with a signed GET from a holder, src/gossip/body-fetcher.ts),
 * so they are modelled here rather than on the message network: a node asks
 * the holders it was given (origin first), then a couple of random peers; each
 * that cannot serve costs a round trip (or a timeout if unreachable), the one
 * that can takes a round trip plus size / bandwidth. At most one transfer of a
 * body per node is under way (single flight), and failed rounds retry later.
 */
import type { Version } from '../../src/consensus/types.js';
import type { NodeId } from '../../src/gossip/core/types.js';
import type { SimNode } from './sim-node.js';

export interface BodyModel {
  /** transfer rate between two nodes, bytes per virtual ms (12_500 = 100 Mbit/s) */
  readonly bytesPerMs: number;
  /** wait before giving up on an unreachable holder */
  readonly timeoutMs: number;
  /** pause before another round of attempts when no holder could serve */
  readonly retryDelayMs: number;
  /** rounds of attempts before giving up (anti-entropy will ask again) */
  readonly maxRounds: number;
  /** random live peers tried after the known holders */
  readonly extraPeers: number;
}

export const DEFAULT_BODY_MODEL: BodyModel = Object.freeze({ bytesPerMs: 12_500, timeoutMs: 1_000, retryDelayMs: 2_000, maxRounds: 5, extraPeers: 2 });

/** What the transfer model needs from the simulation. */
export interface BodyHost {
  now(): number;
  node(id: NodeId): SimNode | undefined;
  /** true when messages can flow both ways between the two nodes */
  connected(a: NodeId, b: NodeId): boolean;
  /** one network round trip, drawn from the link model */
  roundTrip(): number;
  schedule(at: number, label: string, run: () => void): void;
}

export interface BodyStats {
  transfers: number;
  bytes: number;
  failedRounds: number;
  abandoned: number;
}

export class SimBodies {
  private readonly inFlight = new Set<string>();
  readonly stats: BodyStats = { transfers: 0, bytes: 0, failedRounds: 0, abandoned: 0 };

  constructor(private readonly host: BodyHost, private readonly model: BodyModel = DEFAULT_BODY_MODEL) {}

  /** The core at `node` wants the body of `version`; `holders` are peers said to hold it. */
  want(node: SimNode, version: Version, holders: readonly NodeId[]): void {
    if (version.tombstone || node.store.hasBody(version.sha256)) return;
    const flight = `${node.id}|${version.sha256}`;
    if (this.inFlight.has(flight)) return;
    this.inFlight.add(flight);
    this.attempt(node, version, holders, 0, flight);
  }

  private attempt(node: SimNode, version: Version, holders: readonly NodeId[], round: number, flight: string): void {
    if (!node.up || node.store.hasBody(version.sha256)) {
      this.inFlight.delete(flight);
      return;
    }
    const candidates = new Set<NodeId>(holders);
    candidates.add(version.origin);
    for (const p of node.core.membership.sample(this.model.extraPeers)) candidates.add(p.id);
    candidates.delete(node.id);
    let elapsed = 0;
    for (const id of candidates) {
      const peer = this.host.node(id);
      const reachable = peer !== undefined && peer.up && this.host.connected(node.id, id);
      if (reachable && peer.store.hasBody(version.sha256)) {
        elapsed += this.host.roundTrip() + version.size / this.model.bytesPerMs;
        this.host.schedule(this.host.now() + elapsed, 'body', () => {
          this.inFlight.delete(flight);
          if (!node.up) return;
          this.stats.transfers++;
          this.stats.bytes += version.size;
          node.bodyArrived(version.sha256);
        });
        return;
      }
      elapsed += reachable ? this.host.roundTrip() : this.model.timeoutMs;
    }
    this.stats.failedRounds++;
    if (round + 1 >= this.model.maxRounds) {
      this.stats.abandoned++;
      this.inFlight.delete(flight);
      return;
    }
    const again = node.core.data.holders(version.sha256);
    this.host.schedule(this.host.now() + elapsed + this.model.retryDelayMs, 'body-retry', () => this.attempt(node, version, again, round + 1, flight));
  }
}
