/**
 * The embedded registry: the same semantics as the Redis one (TTL by
 * `expiresAt`, bounded sweeps, uniform random sampling without replacement)
 * held in this process. Sampling is a partial Fisher-Yates over an id array
 * with swap-removal, so `look` costs O(count) whatever the registry size.
 */
import { LRUCache } from 'lru-cache';
import type { ChallengeLimits, ChallengeRefusal, Clock, NodeRecord, PublicNode, Registration, Registry, UnreachableReport } from './registry.js';

/**
 * Outstanding challenges (and addresses counted) held at most: a flood from
 * more addresses than this forgets the least recently used first (an honest
 * node whose challenge was pushed out asks for another).
 */
export const MAX_MEMORY_CHALLENGES = 100_000;

interface Challenge {
  publicKey: string;
  ip: string;
  expiresAt: number;
}

interface Entry {
  record: NodeRecord;
  sessionKey: string;
}

export interface MemoryRegistryOptions {
  clock?: Clock;
  /** uniform in [0, 1) */
  random?: () => number;
}

export class MemoryRegistry implements Registry {
  private readonly nodes = new Map<string, Entry>();
  private readonly sessions = new Map<string, string>();
  private readonly ids: string[] = [];
  private readonly positions = new Map<string, number>();
  private readonly unreachable = new Map<string, Map<string, number>>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly challenges = new LRUCache<string, Challenge>({ max: MAX_MEMORY_CHALLENGES });
  /** per address: expiry times of its unused challenges */
  private readonly challengesByIp = new LRUCache<string, number[]>({ max: MAX_MEMORY_CHALLENGES });

  constructor(options: MemoryRegistryOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async register(reg: Registration, ttlMs: number): Promise<void> {
    const now = this.clock();
    const previous = this.nodes.get(reg.id);
    if (previous !== undefined) this.sessions.delete(previous.sessionKey);
    else this.addId(reg.id);
    const record: NodeRecord = {
      id: reg.id, ip: reg.ip, port: reg.port, publicKey: reg.publicKey,
      registeredAt: now, lastSeen: now, expiresAt: now + ttlMs,
    };
    this.nodes.set(reg.id, { record, sessionKey: reg.sessionKey });
    this.sessions.set(reg.sessionKey, reg.id);
    this.unreachable.delete(reg.id);
  }

  async authenticate(sessionKey: string): Promise<NodeRecord | undefined> {
    const id = this.sessions.get(sessionKey);
    return id === undefined ? undefined : this.live(id);
  }

  async get(id: string): Promise<NodeRecord | undefined> {
    return this.live(id);
  }

  async heartbeat(id: string, ttlMs: number): Promise<boolean> {
    const entry = this.nodes.get(id);
    const now = this.clock();
    if (entry === undefined || entry.record.expiresAt <= now) return false;
    entry.record = { ...entry.record, lastSeen: now, expiresAt: now + ttlMs };
    return true;
  }

  async look(sessionKey: string, count: number): Promise<PublicNode[] | undefined> {
    const caller = await this.authenticate(sessionKey);
    return caller === undefined ? undefined : this.sample(caller.id, count);
  }

  private sample(excludeId: string, count: number): PublicNode[] {
    const now = this.clock();
    const out: PublicNode[] = [];
    const n = this.ids.length;
    // Partial Fisher-Yates over a virtual copy: only swapped slots are stored,
    // so a draw of `count` costs O(count) however many nodes are registered.
    const swapped = new Map<number, string>();
    const at = (k: number): string => swapped.get(k) ?? (this.ids[k] as string);
    for (let i = 0; i < n && out.length < count; i++) {
      const j = i + Math.floor(this.random() * (n - i));
      const picked = at(j);
      swapped.set(j, at(i));
      const entry = this.nodes.get(picked);
      if (picked === excludeId || entry === undefined || entry.record.expiresAt <= now) continue;
      const { id, ip, port, publicKey } = entry.record;
      out.push({ id, ip, port, publicKey });
    }
    return out;
  }

  async remove(id: string): Promise<void> {
    const entry = this.nodes.get(id);
    if (entry !== undefined) this.sessions.delete(entry.sessionKey);
    this.nodes.delete(id);
    this.unreachable.delete(id);
    this.removeId(id);
  }

  async removeByIp(ip: string): Promise<string[]> {
    const now = this.clock();
    const ids = [...this.nodes.values()].filter((e) => e.record.ip === ip && e.record.expiresAt > now).map((e) => e.record.id);
    for (const id of ids) await this.remove(id);
    return ids;
  }

  async reportUnreachable(targetId: string, reporterIp: string, quorum: number, windowMs: number): Promise<UnreachableReport> {
    const now = this.clock();
    const reports = this.unreachable.get(targetId) ?? new Map<string, number>();
    reports.set(reporterIp, now + windowMs);
    for (const [ip, until] of reports) if (until <= now) reports.delete(ip);
    this.unreachable.set(targetId, reports);
    if (reports.size >= quorum) {
      await this.remove(targetId);
      return { reports: reports.size, removed: true };
    }
    return { reports: reports.size, removed: false };
  }

  /** The global cap is the table's own bound here (the least recently issued is forgotten), at most `limits.total`. */
  async issueChallenge(challenge: string, publicKey: string, ip: string, ttlMs: number, limits: ChallengeLimits): Promise<true | ChallengeRefusal> {
    const now = this.clock();
    const open = (this.challengesByIp.get(ip) ?? []).filter((t) => t > now);
    if (open.length >= limits.perIp || this.challenges.size >= limits.total) {
      this.challengesByIp.set(ip, open);
      return 'too-many';
    }
    const expiresAt = now + ttlMs;
    open.push(expiresAt);
    this.challengesByIp.set(ip, open);
    this.challenges.set(challenge, { publicKey, ip, expiresAt });
    return true;
  }

  async takeChallenge(challenge: string): Promise<string | undefined> {
    const found = this.challenges.get(challenge);
    if (found === undefined) return undefined;
    this.challenges.delete(challenge);
    const open = this.challengesByIp.get(found.ip);
    const at = open?.indexOf(found.expiresAt) ?? -1;
    if (open !== undefined && at >= 0) open.splice(at, 1);
    return found.expiresAt > this.clock() ? found.publicKey : undefined;
  }

  async sweep(batch: number): Promise<number> {
    const now = this.clock();
    let removed = 0;
    for (const entry of this.nodes.values()) {
      if (removed >= batch) break;
      if (entry.record.expiresAt <= now) {
        await this.remove(entry.record.id);
        removed++;
      }
    }
    return removed;
  }

  async size(): Promise<number> {
    return this.ids.length;
  }

  async ping(): Promise<void> {}

  private live(id: string): NodeRecord | undefined {
    const entry = this.nodes.get(id);
    return entry !== undefined && entry.record.expiresAt > this.clock() ? entry.record : undefined;
  }

  private addId(id: string): void {
    this.positions.set(id, this.ids.length);
    this.ids.push(id);
  }

  private removeId(id: string): void {
    const at = this.positions.get(id);
    if (at === undefined) return;
    const last = this.ids.pop() as string;
    if (last !== id) {
      this.ids[at] = last;
      this.positions.set(last, at);
    }
    this.positions.delete(id);
  }
}
