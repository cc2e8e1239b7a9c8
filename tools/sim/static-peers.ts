/**
 * A PeerSampler over a fixed list of peers, for the simulator and unit tests
 * of the data plane (no membership protocol involved). Sampling draws from
 * the injected random source, so one seed gives one run. Peers can be marked
 * down to model crashes as the failure detector would eventually see them.
 */
import type { NodeId, PeerInfo, PeerSampler, Random } from '../../src/gossip/core/types.js';

export class StaticPeers implements PeerSampler {
  private readonly byId = new Map<NodeId, PeerInfo>();
  private live: PeerInfo[];
  private readonly liveIds = new Set<NodeId>();

  constructor(
    private readonly self: NodeId,
    peers: readonly PeerInfo[],
    private readonly random: Random,
  ) {
    for (const p of peers) if (p.id !== self) this.byId.set(p.id, p);
    this.live = [...this.byId.values()];
    for (const p of this.live) this.liveIds.add(p.id);
  }

  sample(count: number, exclude?: ReadonlySet<NodeId>): PeerInfo[] {
    const out: PeerInfo[] = [];
    if (count <= 0) return out;
    if (count * 4 < this.live.length && (exclude?.size ?? 0) * 2 < this.live.length) {
      // few draws from many peers: rejection sampling, O(count)
      const picked = new Set<NodeId>();
      for (let tries = 0; out.length < count && tries < count * 20; tries++) {
        const p = this.live[Math.floor(this.random.next() * this.live.length)] as PeerInfo;
        if (picked.has(p.id) || exclude?.has(p.id) === true) continue;
        picked.add(p.id);
        out.push(p);
      }
      if (out.length === count) return out;
      out.length = 0;
    }
    // partial Fisher–Yates over a copy: uniform, no repeats
    const pool = exclude === undefined || exclude.size === 0 ? [...this.live] : this.live.filter((p) => !exclude.has(p.id));
    for (let i = 0; i < pool.length && out.length < count; i++) {
      const j = i + Math.floor(this.random.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j] as PeerInfo, pool[i] as PeerInfo];
      out.push(pool[i] as PeerInfo);
    }
    return out;
  }

  peer(id: NodeId): PeerInfo | undefined {
    return this.liveIds.has(id) ? this.byId.get(id) : undefined;
  }

  size(): number {
    return this.live.length;
  }

  /** Marks a peer dead (false) or alive again (true). */
  setLive(id: NodeId, live: boolean): void {
    const peer = this.byId.get(id);
    if (peer === undefined) return;
    this.live = this.live.filter((p) => p.id !== id);
    this.liveIds.delete(id);
    if (live) {
      this.live.push(peer);
      this.liveIds.add(id);
    }
  }
}
