/**
 * The active view: the peers a node probes, gossips to, pushes-pulls with and
 * keeps connections to, at most `maxPeers` of them (proposals/0001, "Peer
 * links: the active view"). The member table keeps every member (metadata);
 * the rest of it is the passive view, from which the active one is refilled
 * when a peer dies or leaves and slowly rotated.
 *
 * Filling it, in order:
 * 1. at or below `maxPeers` live members, every one of them (today's full mesh);
 * 2. the `ringPeers` first members after this node on the ring (its ring
 *    successors), so that every member is some nodes' active peer (SWIM
 *    detection needs a prober) and the union of the views is a directed ring
 *    plus random chords: strongly connected, whatever the random picks. The
 *    ring orders members by address group, then id: one address's members
 *    sit together, so past the group cap the walk goes on to the next
 *    address, and 50 ids on one address get no more ring slots than one;
 * 3. the rest drawn address first: an address group (an IPv4 address, an IPv6
 *    /64, a host name) uniformly among those still under the cap, then the
 *    older of two random members within it (long-lived members preferred).
 *
 * No address group holds more than `addressCap(maxPeers, groups)` =
 * ceil(maxPeers / distinct groups) slots: 50 registrations from one address
 * get at most that many, and when every member shares one address (the demo
 * on 127.0.0.1) the cap is maxPeers and the view fills. The cap is strict:
 * a slot no group under its cap can fill stays empty rather than go to an
 * address already at its share. Pure: randomness is injected.
 */
import { ipGroup } from '../../address-group.js';
import type { NodeId, Random } from './types.js';

export interface ViewCandidate {
  readonly id: NodeId;
  /** HOST:PORT, as in the member record */
  readonly address: string;
  /** local time since which the member has been alive here (smaller: longer-lived) */
  readonly since: number;
}

export interface ActiveViewOptions {
  readonly maxPeers: number;
  /** ring successors always in the view (capped by maxPeers − 1, so one random slot stays) */
  readonly ringPeers: number;
}

/** The address group a HOST:PORT belongs to: the IPv4 address, the IPv6 /64, or the host name. */
export function addressGroup(address: string): string {
  const v6 = /^\[(.+)\]:\d+$/.exec(address);
  const colon = address.lastIndexOf(':');
  const host = v6 !== null ? (v6[1] as string) : colon < 0 ? address : address.slice(0, colon);
  return ipGroup(host) ?? host.toLowerCase();
}

/** The most slots one address group may hold: ceil(maxPeers / groups), at least 1. */
export function addressCap(maxPeers: number, groups: number): number {
  return Math.max(1, Math.ceil(maxPeers / Math.max(1, groups)));
}

export class ActiveView {
  private readonly ids: NodeId[] = [];
  private readonly index = new Map<NodeId, number>();
  private readonly ring = new Set<NodeId>();

  private readonly selfGroup: string;

  constructor(
    private readonly selfId: NodeId,
    selfAddress: string,
    private readonly options: ActiveViewOptions,
    private readonly random: Random,
  ) {
    this.selfGroup = addressGroup(selfAddress);
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: NodeId): boolean {
    return this.index.has(id);
  }

  /** The active peers, in no particular order (a live array: copy it to keep it). */
  members(): readonly NodeId[] {
    return this.ids;
  }

  /** the ring successors currently held */
  ringMembers(): ReadonlySet<NodeId> {
    return this.ring;
  }

  /** Drops a member (it died or left); returns whether it was active. */
  remove(id: NodeId): boolean {
    const at = this.index.get(id);
    this.ring.delete(id);
    if (at === undefined) return false;
    const last = this.ids.pop() as NodeId;
    if (last !== id) {
      this.ids[at] = last;
      this.index.set(last, at);
    }
    this.index.delete(id);
    return true;
  }

  /**
   * Recomputes the view over the live members (self excluded): keeps the
   * active ones that still fit their group's cap, takes the ring successors,
   * fills the rest address first. `avoid` is not drawn in this pass (a member
   * just rotated out). Returns the members added.
   */
  refill(live: readonly ViewCandidate[], avoid?: NodeId): NodeId[] {
    const { maxPeers } = this.options;
    const added: NodeId[] = [];
    const liveIds = new Set(live.map((c) => c.id));
    for (const id of [...this.ids]) if (!liveIds.has(id)) this.remove(id);
    if (live.length <= maxPeers) {
      this.ring.clear();
      for (const c of live) if (this.add(c.id)) added.push(c.id);
      return added;
    }
    const groups = new Map<string, ViewCandidate[]>();
    const groupOf = new Map<NodeId, string>();
    for (const c of live) {
      const g = addressGroup(c.address);
      groupOf.set(c.id, g);
      const list = groups.get(g);
      if (list === undefined) groups.set(g, [c]);
      else list.push(c);
    }
    const cap = addressCap(maxPeers, groups.size);
    const used = new Map<string, number>();
    const count = (g: string) => used.get(g) ?? 0;
    // keep what still fits its group's share (the cap falls as addresses appear)
    for (const id of [...this.ids]) {
      const g = groupOf.get(id) as string;
      if (count(g) >= cap) this.remove(id);
      else used.set(g, count(g) + 1);
    }
    // the ring successors, skipping members whose group is at its cap
    this.ring.clear();
    const wantRing = Math.min(this.options.ringPeers, maxPeers - 1);
    for (const c of ringAfter({ group: this.selfGroup, id: this.selfId }, live, groupOf)) {
      if (this.ring.size >= wantRing) break;
      const g = groupOf.get(c.id) as string;
      if (this.has(c.id)) {
        this.ring.add(c.id);
        continue;
      }
      if (count(g) >= cap) continue;
      if (this.ids.length >= maxPeers && !this.evictNonRing(groupOf, used)) break;
      this.add(c.id);
      added.push(c.id);
      this.ring.add(c.id);
      used.set(g, count(g) + 1);
    }
    // the rest: a group uniformly among those under their cap, then the older of two within it
    const pools = new Map<string, ViewCandidate[]>();
    for (const [g, list] of groups) {
      const pool = list.filter((c) => !this.has(c.id) && c.id !== avoid);
      if (pool.length > 0 && count(g) < cap) pools.set(g, pool);
    }
    const open = [...pools.keys()];
    while (this.ids.length < maxPeers && open.length > 0) {
      const gi = Math.floor(this.random.next() * open.length);
      const g = open[gi] as string;
      const pool = pools.get(g) as ViewCandidate[];
      const pick = this.olderOfTwo(pool);
      this.add(pick.id);
      added.push(pick.id);
      used.set(g, count(g) + 1);
      if (pool.length === 0 || count(g) >= cap) {
        open[gi] = open[open.length - 1] as string;
        open.pop();
      }
    }
    return added;
  }

  /** Rotation: drops one random member that is not a ring successor; returns it (the caller refills avoiding it). */
  rotateOut(): NodeId | undefined {
    const candidates = this.ids.filter((id) => !this.ring.has(id));
    if (candidates.length === 0) return undefined;
    const id = candidates[Math.floor(this.random.next() * candidates.length)] as NodeId;
    this.remove(id);
    return id;
  }

  /** Up to `count` distinct active members chosen uniformly, none of `exclude`. */
  sample(count: number, random: Random, exclude?: ReadonlySet<NodeId>): NodeId[] {
    const pool = exclude === undefined ? [...this.ids] : this.ids.filter((id) => !exclude.has(id));
    const want = Math.min(count, pool.length);
    for (let i = 0; i < want; i++) {
      const j = i + Math.floor(random.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j] as NodeId, pool[i] as NodeId];
    }
    pool.length = Math.max(0, want);
    return pool;
  }

  private add(id: NodeId): boolean {
    if (this.index.has(id)) return false;
    this.index.set(id, this.ids.length);
    this.ids.push(id);
    return true;
  }

  /** Makes room for a ring successor: drops a random non-ring member. */
  private evictNonRing(groupOf: ReadonlyMap<NodeId, string>, used: Map<string, number>): boolean {
    const candidates = this.ids.filter((id) => !this.ring.has(id));
    if (candidates.length === 0) return false;
    const id = candidates[Math.floor(this.random.next() * candidates.length)] as NodeId;
    this.remove(id);
    const g = groupOf.get(id) as string;
    used.set(g, (used.get(g) ?? 1) - 1);
    return true;
  }

  /** Takes the longer-lived of two random members of `pool` out of it (one if it has one). */
  private olderOfTwo(pool: ViewCandidate[]): ViewCandidate {
    const a = Math.floor(this.random.next() * pool.length);
    let at = a;
    if (pool.length > 1) {
      const b = Math.floor(this.random.next() * pool.length);
      const pa = pool[a] as ViewCandidate;
      const pb = pool[b] as ViewCandidate;
      at = pb.since < pa.since || (pb.since === pa.since && pb.id < pa.id) ? b : a;
    }
    const pick = pool[at] as ViewCandidate;
    pool[at] = pool[pool.length - 1] as ViewCandidate;
    pool.pop();
    return pick;
  }
}

interface RingKey {
  readonly group: string;
  readonly id: NodeId;
}

function ringOrder(x: RingKey, y: RingKey): number {
  if (x.group !== y.group) return x.group < y.group ? -1 : 1;
  return x.id < y.id ? -1 : x.id > y.id ? 1 : 0;
}

/** The live members in ring order after `self`: by (address group, id) from just past self, wrapping. */
function ringAfter(self: RingKey, live: readonly ViewCandidate[], groupOf: ReadonlyMap<NodeId, string>): ViewCandidate[] {
  const keyed = live.map((c) => ({ c, key: { group: groupOf.get(c.id) as string, id: c.id } }));
  keyed.sort((a, b) => ringOrder(a.key, b.key));
  let start = keyed.findIndex((k) => ringOrder(k.key, self) > 0);
  if (start < 0) start = 0;
  return [...keyed.slice(start), ...keyed.slice(0, start)].map((k) => k.c);
}
