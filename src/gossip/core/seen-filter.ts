/**
 * The seen-filter: which peers are known to hold which versions, so a node
 * does not push a peer what it has (SPEC §4 "Dissemination"). A peer is known
 * to hold a version when it sent it to us or we sent it to it.
 *
 * Stored per version rather than per peer, because dissemination asks both
 * "does peer p have v?" and "which peers have v?" (to leave them out when
 * picking targets). Bounded twice: at most `maxVersions` versions, least
 * recently touched evicted first, and at most `maxPeersPerVersion` peers per
 * version, oldest dropped first. Forgetting only costs a redundant push.
 */
import type { Version } from '../../consensus/types.js';
import { clockKey } from '../../consensus/vector-clock.js';
import type { NodeId } from './types.js';

/** A version's identity for the filter: its key and clock (unique per write). */
export function versionId(v: Version): string {
  return `${v.key}@${clockKey(v.clock)}`;
}

export class SeenFilter {
  /** version id → peers known to hold it, in insertion order; the Map's order is the LRU order */
  private readonly byVersion = new Map<string, Set<NodeId>>();

  constructor(
    private readonly maxVersions: number,
    private readonly maxPeersPerVersion: number,
  ) {}

  /** Records that `peer` holds the version `id`. */
  add(peer: NodeId, id: string): void {
    let peers = this.byVersion.get(id);
    if (peers === undefined) {
      peers = new Set();
      if (this.byVersion.size >= this.maxVersions) {
        const oldest = this.byVersion.keys().next();
        if (oldest.done !== true) this.byVersion.delete(oldest.value);
      }
    } else {
      this.byVersion.delete(id); // re-insert: most recently touched last
    }
    this.byVersion.set(id, peers);
    if (peers.has(peer)) return;
    if (peers.size >= this.maxPeersPerVersion) {
      const first = peers.values().next();
      if (first.done !== true) peers.delete(first.value);
    }
    peers.add(peer);
  }

  has(peer: NodeId, id: string): boolean {
    return this.byVersion.get(id)?.has(peer) ?? false;
  }

  /** Peers known to hold the version (empty when none or forgotten). */
  peersWith(id: string): ReadonlySet<NodeId> {
    return this.byVersion.get(id) ?? EMPTY;
  }

  /** Versions remembered. */
  get size(): number {
    return this.byVersion.size;
  }
}

const EMPTY: ReadonlySet<NodeId> = new Set();
