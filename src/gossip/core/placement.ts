/**
 * Body placement: which R nodes own each body. Rendezvous (highest random
 * weight) hashing over the placement members, spread over zones: every node
 * computes the same owners from the same member list, and when one member
 * joins or leaves only the bodies whose top R it enters or leaves move
 * (about R/N of them). Design: proposals/0010-placement.md.
 *
 * A body is placed by its sha256 (bodies are content-addressed, so keys that
 * share bytes share owners). The score of (body, node) mixes the body's first
 * 64 bits with the node's 64-bit id (`n` + 16 hex digits) through two rounds
 * of murmur3's finaliser: no allocation, ~20 ns a pair, uniform enough that
 * the owned share of every node is within Poisson noise of R/N (measured in
 * bench/sim/placement).
 */
import type { NodeId } from './types.js';
import { fmix32 } from './mix.js';

/** How many nodes own each body: a count, or every node (full replication). */
export type Replicas = number | 'all';

export interface PlacementMember {
  readonly id: NodeId;
  /** members of one zone share a failure domain; '' when unset */
  readonly zone: string;
}

interface Seeded extends PlacementMember {
  readonly hi: number;
  readonly lo: number;
}

/** Above this many owners (or candidates) to rank, compute() sorts every member rather than insert into a top list. */
const SORT_ABOVE = 16;

/** The two 32-bit halves of the first 64 bits of a hex string (a node id's digits or a sha256). */
function halves(hex: string, from: number): [number, number] {
  const hi = Number.parseInt(hex.slice(from, from + 8), 16);
  const lo = Number.parseInt(hex.slice(from + 8, from + 16), 16);
  return [Number.isNaN(hi) ? 0 : hi, Number.isNaN(lo) ? 0 : lo];
}

/** The rendezvous score of a body (its halves) on a member: a 53-bit integer. */
function score(bhi: number, blo: number, m: Seeded): number {
  const x = fmix32((bhi ^ m.hi) ^ Math.imul(blo ^ m.lo, 0x9e3779b1));
  const y = fmix32((blo ^ m.lo) ^ Math.imul(x, 0x27d4eb2f));
  return x * 2097152 + (y >>> 11);
}

/** Ties (2^-53 apart) go to the higher id, so the order is total. */
function better(a: number, aid: NodeId, b: number, bid: NodeId): boolean {
  return a > b || (a === b && aid > bid);
}

/** Remembered owners of a body, with the lowest score among them (what a newcomer must beat to change them). */
interface CachedOwners {
  readonly owners: readonly NodeId[];
  readonly lowS: number;
  readonly lowId: NodeId;
}

interface Scored {
  readonly s: number;
  readonly m: Seeded;
}

export class Placement {
  private members: Seeded[] = [];
  private signature = '';
  /** owners per body for the current member list, kept valid across member changes (see setMembers) */
  private readonly cache = new Map<string, CachedOwners>();
  private epochCount = 0;

  constructor(
    readonly replicas: Replicas,
    /** owner lists remembered (bodies); a miss costs one O(N·R) computation */
    private readonly cacheEntries = 200_000,
  ) {}

  /** Bumped every time the member list changes: owners computed before it may differ now. */
  get epoch(): number {
    return this.epochCount;
  }

  get size(): number {
    return this.members.length;
  }

  /** True when every node owns every body. */
  get full(): boolean {
    return this.replicas === 'all' || this.replicas >= this.members.length;
  }

  /** Sets the members bodies are placed on. Returns true when the list changed. */
  setMembers(members: readonly PlacementMember[]): boolean {
    const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const signature = sorted.map((m) => `${m.id}@${m.zone}`).join(',');
    if (signature === this.signature) return false;
    const before = this.members;
    this.signature = signature;
    this.members = sorted.map((m) => {
      const [hi, lo] = halves(m.id, 1);
      return { id: m.id, zone: m.zone, hi, lo };
    });
    this.revalidate(before);
    this.epochCount++;
    return true;
  }

  /**
   * The owners of a body, best first: the highest-scoring member of each
   * zone, best zones first, until R are chosen; when there are fewer zones
   * than R, the rest by score.
   */
  owners(sha256: string): readonly NodeId[] {
    const cached = this.cache.get(sha256);
    if (cached !== undefined) return cached.owners;
    const chosen = this.choose(sha256, this.replicas === 'all' ? this.members.length : this.replicas);
    const owners = chosen.map((t) => t.m.id);
    let low = chosen[0];
    for (const t of chosen) if (low !== undefined && better(low.s, low.m.id, t.s, t.m.id)) low = t;
    if (this.cache.size >= this.cacheEntries) this.cache.clear();
    if (low !== undefined) this.cache.set(sha256, { owners, lowS: low.s, lowId: low.m.id });
    return owners;
  }

  isOwner(sha256: string, id: NodeId): boolean {
    if (this.replicas === 'all') return true;
    return this.owners(sha256).includes(id);
  }

  /**
   * The owners, then the next `extra` members by score: where a body is, or
   * was before the last change (a former owner is the next in line).
   */
  ranked(sha256: string, extra: number): NodeId[] {
    const owners = this.owners(sha256);
    const next = this.compute(sha256, Math.min(this.members.length, owners.length + extra), true);
    const out = [...owners];
    for (const id of next) if (!out.includes(id)) out.push(id);
    return out;
  }

  /**
   * Keeps the remembered owners that the change from `before` cannot have
   * touched, so a join or a leave costs one score per remembered body rather
   * than a full ranking of each. With every member's zone unchanged:
   * - removing a member changes only the bodies it owned: the others' zone
   *   leaders and their top scorers are still there, and still win;
   * - adding a member changes a body only if the newcomer outscores the
   *   lowest of its owners: below that it can be neither one of the chosen
   *   zone leaders nor one of the top scorers that fill the rest. Except a
   *   newcomer that brings a new zone while there were fewer zones than
   *   owners: it takes a place as its zone's leader whatever its score.
   */
  private revalidate(before: readonly Seeded[]): void {
    if (this.cache.size === 0) return;
    const now = new Map(this.members.map((m) => [m.id, m]));
    const old = new Map(before.map((m) => [m.id, m]));
    const removed = before.filter((m) => !now.has(m.id)).map((m) => m.id);
    const added = this.members.filter((m) => !old.has(m.id));
    const oldZones = new Set(before.map((m) => m.zone));
    const rezoned = before.some((m) => now.has(m.id) && now.get(m.id)?.zone !== m.zone);
    const count = this.replicas === 'all' ? Number.POSITIVE_INFINITY : this.replicas;
    const newZoneMatters = added.some((m) => !oldZones.has(m.zone)) && oldZones.size < count;
    if (rezoned || newZoneMatters || this.replicas === 'all' || count >= before.length) {
      this.cache.clear();
      return;
    }
    for (const [sha, entry] of this.cache) {
      if (removed.some((id) => entry.owners.includes(id))) {
        this.cache.delete(sha);
        continue;
      }
      if (added.length === 0) continue;
      const [bhi, blo] = halves(sha, 0);
      if (added.some((m) => better(score(bhi, blo, m), m.id, entry.lowS, entry.lowId))) this.cache.delete(sha);
    }
  }

  private compute(sha256: string, count: number, ignoreZones = false): NodeId[] {
    return this.choose(sha256, count, ignoreZones).map((t) => t.m.id);
  }

  private choose(sha256: string, count: number, ignoreZones = false): Scored[] {
    const n = Math.min(count, this.members.length);
    if (n <= 0) return [];
    const [bhi, blo] = halves(sha256, 0);
    // one pass: the global top n, and the best member of every zone
    let top: Scored[] = [];
    const bestOfZone = new Map<string, Scored>();
    // the top n by insertion costs O(N·n): fine for a few owners, quadratic for
    // 'all' or a long candidate list, which sort every member instead (same order)
    const sortAll = n > SORT_ABOVE;
    for (const m of this.members) {
      const s = score(bhi, blo, m);
      const best = bestOfZone.get(m.zone);
      if (best === undefined || better(s, m.id, best.s, best.m.id)) bestOfZone.set(m.zone, { s, m });
      if (sortAll) {
        top.push({ s, m });
        continue;
      }
      if (top.length < n || better(s, m.id, (top[top.length - 1] as { s: number; m: Seeded }).s, (top[top.length - 1] as { s: number; m: Seeded }).m.id)) {
        let i = top.length < n ? top.length : n - 1;
        if (top.length < n) top.push({ s, m });
        while (i > 0 && better(s, m.id, (top[i - 1] as { s: number }).s, (top[i - 1] as { m: Seeded }).m.id)) {
          top[i] = top[i - 1] as { s: number; m: Seeded };
          i--;
        }
        top[i] = { s, m };
      }
    }
    if (sortAll) top = top.sort((a, b) => (better(a.s, a.m.id, b.s, b.m.id) ? -1 : 1)).slice(0, n);
    if (ignoreZones || bestOfZone.size <= 1) return top;
    const chosen = [...bestOfZone.values()].sort((a, b) => (better(a.s, a.m.id, b.s, b.m.id) ? -1 : 1)).slice(0, n);
    for (const t of top) {
      if (chosen.length >= n) break;
      if (!chosen.some((c) => c.m.id === t.m.id)) chosen.push(t);
    }
    return chosen;
  }
}
