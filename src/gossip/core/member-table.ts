/**
 * The member table: one record per known member (self excluded), the SWIM
 * precedence rule that decides whether a claim about a member is news, an
 * index of live members for O(1) sampling, and a bound on its size. It holds
 * data only; Membership decides what a change means.
 */
import type { MemberUpdate } from './messages.js';
import type { Suspicion } from './suspicion.js';
import type { MemberRecord, MemberState, NodeId, PeerInfo, Random } from './types.js';

/** A member's mutable record inside the table. */
export interface Member {
  readonly id: NodeId;
  address: string;
  readonly publicKey: string;
  incarnation: number;
  state: MemberState;
  stateSince: number;
  lastContact: number | null;
  /** set while suspect */
  suspicion: Suspicion | undefined;
  /** dead-member retries made since it died, and when the next is due */
  retries: number;
  nextRetryAt: number;
  /** as the member itself last announced it */
  zone?: string | undefined;
}

const RANK: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/**
 * True if a claim (incarnation, state) supersedes the current one. Claims are
 * ordered by incarnation, then alive < suspect < dead < left. So alive@i
 * beats suspect@j iff i > j; suspect@i beats alive@j iff i ≥ j; dead and left
 * beat alive and suspect at ≥ incarnation; left is final until the member
 * returns with a higher incarnation. The order is total, so applying claims
 * in any order, any number of times, ends in the same state (duplicated or
 * reordered messages are harmless).
 */
export function supersedes(claim: { incarnation: number; state: MemberState }, current: { incarnation: number; state: MemberState }): boolean {
  if (claim.incarnation !== current.incarnation) return claim.incarnation > current.incarnation;
  return RANK[claim.state] > RANK[current.state];
}

export function isLive(state: MemberState): boolean {
  return state === 'alive' || state === 'suspect';
}

export function peerInfo(m: PeerInfo): PeerInfo {
  return { id: m.id, address: m.address, publicKey: m.publicKey };
}

export function toRecord(m: Member): MemberRecord {
  return {
    id: m.id,
    address: m.address,
    publicKey: m.publicKey,
    incarnation: m.incarnation,
    state: m.state,
    stateSince: m.stateSince,
    lastContact: m.lastContact,
    zone: m.zone,
  };
}

export function toUpdate(m: Member, by?: NodeId): MemberUpdate {
  const update: MemberUpdate = { id: m.id, address: m.address, publicKey: m.publicKey, incarnation: m.incarnation, state: m.state };
  if (by !== undefined) update.by = by;
  if (m.zone !== undefined) update.zone = m.zone;
  return update;
}

export class MemberTable {
  private readonly members = new Map<NodeId, Member>();
  /** live (alive or suspect) ids, for uniform sampling; liveIndex maps id → position */
  private readonly live: NodeId[] = [];
  private readonly liveIndex = new Map<NodeId, number>();
  /** ids currently dead or left */
  private readonly gone = new Set<NodeId>();
  /** ids currently suspect */
  private readonly suspects = new Set<NodeId>();

  constructor(private readonly maxMembers: number) {}

  get(id: NodeId): Member | undefined {
    return this.members.get(id);
  }

  /** number of members, any state */
  get size(): number {
    return this.members.size;
  }

  /** number of live (alive or suspect) members */
  get liveCount(): number {
    return this.live.length;
  }

  all(): IterableIterator<Member> {
    return this.members.values();
  }

  liveIds(): readonly NodeId[] {
    return this.live;
  }

  /** ids of dead or left members (a copy: callers may change states while iterating) */
  goneIds(): NodeId[] {
    return [...this.gone];
  }

  /** ids of suspect members (a copy) */
  suspectIds(): NodeId[] {
    return [...this.suspects];
  }

  /**
   * Adds a member; when the table is full, evicts the member that has been
   * dead or left longest, or refuses (returns undefined) if every member is live.
   */
  add(member: Member): Member | undefined {
    if (this.members.has(member.id)) return undefined;
    if (this.members.size >= this.maxMembers && !this.evictOldestGone()) return undefined;
    this.members.set(member.id, member);
    this.index(member);
    return member;
  }

  /** Changes a member's state and keeps the indexes in step. */
  setState(member: Member, state: MemberState): void {
    this.unindex(member);
    member.state = state;
    this.index(member);
  }

  delete(id: NodeId): void {
    const member = this.members.get(id);
    if (member === undefined) return;
    this.unindex(member);
    this.members.delete(id);
  }

  /** Up to `count` distinct live members chosen uniformly, none of `exclude`. */
  sample(count: number, random: Random, exclude?: ReadonlySet<NodeId>): Member[] {
    const n = this.live.length;
    const excluded = exclude === undefined ? 0 : [...exclude].filter((id) => this.liveIndex.has(id)).length;
    const available = n - excluded;
    const want = Math.min(count, available);
    if (want <= 0) return [];
    const out: Member[] = [];
    if (want * 3 < n) {
      // few from many: random draws, rejecting repeats and exclusions
      const picked = new Set<NodeId>();
      while (out.length < want) {
        const id = this.live[Math.floor(random.next() * n)] as NodeId;
        if (picked.has(id) || exclude?.has(id) === true) continue;
        picked.add(id);
        out.push(this.members.get(id) as Member);
      }
      return out;
    }
    // a large share: partial Fisher-Yates over a copy
    const ids = this.live.filter((id) => exclude?.has(id) !== true);
    for (let i = 0; i < want; i++) {
      const j = i + Math.floor(random.next() * (ids.length - i));
      [ids[i], ids[j]] = [ids[j] as NodeId, ids[i] as NodeId];
      out.push(this.members.get(ids[i] as NodeId) as Member);
    }
    return out;
  }

  private evictOldestGone(): boolean {
    let oldest: Member | undefined;
    for (const id of this.gone) {
      const m = this.members.get(id) as Member;
      if (oldest === undefined || m.stateSince < oldest.stateSince) oldest = m;
    }
    if (oldest === undefined) return false;
    this.delete(oldest.id);
    return true;
  }

  private index(member: Member): void {
    if (isLive(member.state)) {
      this.liveIndex.set(member.id, this.live.length);
      this.live.push(member.id);
    } else {
      this.gone.add(member.id);
    }
    if (member.state === 'suspect') this.suspects.add(member.id);
  }

  private unindex(member: Member): void {
    this.gone.delete(member.id);
    this.suspects.delete(member.id);
    const at = this.liveIndex.get(member.id);
    if (at === undefined) return;
    const last = this.live.pop() as NodeId;
    if (last !== member.id) {
      this.live[at] = last;
      this.liveIndex.set(last, at);
    }
    this.liveIndex.delete(member.id);
  }
}
