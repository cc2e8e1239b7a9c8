/**
 * Body transfers in the simulator. Bodies are not gossip messages (the
 * runtime pulls them with a signed GET from a holder, src/gossip/shell/body-fetcher.ts),
 * so they are modelled here rather than on the message network, the way the
 * runtime's fetcher does it:
 *
 * - where to look: the holders the core named, then custody's candidates for
 *   the body (its owners, the peers known to hold it, the next two in
 *   placement order: `core.custody.candidates`, what the runtime's fetcher
 *   asks), then the version's origin, then a couple of random peers;
 * - each candidate is asked in turn. The request reaches it one latency
 *   later, and whether it holds the body is decided then: a node that
 *   dropped its copy (custody hand-off, `store.dropBody`) before the request
 *   arrives is not a holder. One that holds it streams it (latency plus
 *   size / bandwidth; a drop after the stream started does not cut it, as an
 *   open file outlives its unlink); one that does not answers after one more
 *   latency; an unreachable one costs a timeout;
 * - at most one transfer of a body per node is under way (single flight);
 *   a round in which no candidate could serve is retried later, a bounded
 *   number of times (custody's sweep asks again after that);
 * - a transfer that started before its node crashed is lost with the process.
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
  /** rounds of attempts before giving up (custody's sweep will ask again) */
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
  /** one network latency (one way), drawn from the link model */
  latency(): number;
  schedule(at: number, label: string, run: () => void): void;
}

export interface BodyStats {
  /** bodies received */
  transfers: number;
  bytes: number;
  /** of `transfers`, bodies that arrived at a node that did not own them by its view on arrival */
  unowned: number;
  /** candidates asked that did not hold the body (a round trip each) or could not be reached (a timeout) */
  misses: number;
  failedRounds: number;
  abandoned: number;
}

interface Flight {
  readonly node: SimNode;
  readonly incarnation: number;
  readonly version: Version;
  readonly key: string;
  round: number;
  candidates: NodeId[];
  next: number;
}

export class SimBodies {
  private readonly inFlight = new Set<string>();
  readonly stats: BodyStats = { transfers: 0, bytes: 0, unowned: 0, misses: 0, failedRounds: 0, abandoned: 0 };

  constructor(private readonly host: BodyHost, private readonly model: BodyModel = DEFAULT_BODY_MODEL) {}

  /** The core at `node` wants the body of `version`; `holders` are peers said to hold it. */
  want(node: SimNode, version: Version, holders: readonly NodeId[]): void {
    if (version.tombstone || node.store.hasBody(version.sha256)) return;
    const key = `${node.id}|${version.sha256}`;
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    const flight: Flight = { node, incarnation: node.incarnation, version, key, round: 0, candidates: [], next: 0 };
    flight.candidates = this.candidates(flight, holders);
    this.ask(flight);
  }

  /** Bodies being fetched right now (node × body). */
  get pending(): number {
    return this.inFlight.size;
  }

  private candidates(flight: Flight, holders: readonly NodeId[]): NodeId[] {
    const { node, version } = flight;
    const out: NodeId[] = [];
    const add = (id: NodeId) => {
      if (id !== node.id && !out.includes(id)) out.push(id);
    };
    for (const id of holders) add(id);
    for (const id of node.core.custody.candidates(version.sha256)) add(id);
    add(version.origin);
    for (const p of node.core.membership.sample(this.model.extraPeers)) add(p.id);
    return out;
  }

  /** The fetching process is gone (crashed, restarted) or has the body by now. */
  private over(flight: Flight): boolean {
    const { node } = flight;
    return !node.up || node.incarnation !== flight.incarnation || node.store.hasBody(flight.version.sha256);
  }

  /** Asks the next candidate, or ends the round. */
  private ask(flight: Flight): void {
    if (this.over(flight)) {
      this.inFlight.delete(flight.key);
      return;
    }
    const id = flight.candidates[flight.next++];
    if (id === undefined) {
      this.roundFailed(flight);
      return;
    }
    const { node, version } = flight;
    const now = this.host.now();
    const peer = this.host.node(id);
    if (peer === undefined || !peer.up || !this.host.connected(node.id, id)) {
      this.stats.misses++;
      this.host.schedule(now + this.model.timeoutMs, 'body-timeout', () => this.ask(flight));
      return;
    }
    // the holder decides when the request reaches it
    this.host.schedule(now + this.host.latency(), 'body-request', () => {
      const serves = peer.up && this.host.connected(node.id, id) && peer.store.hasBody(version.sha256);
      const back = this.host.latency();
      if (!serves) {
        this.stats.misses++;
        this.host.schedule(this.host.now() + back, 'body-miss', () => this.ask(flight));
        return;
      }
      this.host.schedule(this.host.now() + back + version.size / this.model.bytesPerMs, 'body', () => {
        this.inFlight.delete(flight.key);
        if (this.over(flight)) return;
        this.stats.transfers++;
        this.stats.bytes += version.size;
        if (!node.core.custody.owns(version.sha256)) this.stats.unowned++;
        node.bodyArrived(version);
      });
    });
  }

  private roundFailed(flight: Flight): void {
    this.stats.failedRounds++;
    if (flight.round + 1 >= this.model.maxRounds) {
      this.stats.abandoned++;
      this.inFlight.delete(flight.key);
      return;
    }
    this.host.schedule(this.host.now() + this.model.retryDelayMs, 'body-retry', () => {
      flight.round++;
      flight.next = 0;
      // asked afresh: the owners and known holders may have changed meanwhile
      flight.candidates = this.candidates(flight, flight.node.core.data.holders(flight.version.sha256));
      this.ask(flight);
    });
  }
}
