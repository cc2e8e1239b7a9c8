/**
 * The production registry on Redis. Key layout (every key under `prefix`):
 *
 *   node:{id}       hash: key (sha256 of the session key), ip, port, publicKey, registered, seen, expires (ms)
 *   nodes           set of registered ids (SRANDMEMBER source of `look`)
 *   expiry          sorted set: id scored by its `expires`, so the sweeper finds lapsed ids in O(log n + k)
 *   session:{sha}   string: sha256 of a session key -> id (O(1) authentication)
 *   ip:{ip}         set of ids registered from an address (a ban drops them all)
 *   unreach:{id}    sorted set: reporter address scored by when its report lapses
 *   chal:{c}        string: "publicKey ip" of an unused registration challenge (PX ttl; GETDEL takes it once)
 *   chalip:{ip}     string: unused challenges issued to an address (PX ttl from the last one; caps a flood)
 *   chalall:{w}     string: challenges issued in TTL window w (lives two windows; the global cap)
 *
 * Every change runs inside MULTI/EXEC. Changes that depend on what is there
 * (register, remove, sweep) WATCH the node hash first on a dedicated
 * connection and retry when EXEC is aborted. Heartbeats skip the WATCH (see
 * `heartbeat`): the one thing they can leave behind is invisible and swept.
 */
import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { CdnError } from '../errors.js';
import type { Logger } from '../log.js';
import { LOOK_SCRIPT, LOOK_SCRIPT_SHA } from './look-script.js';
import { RedisConnections, redisUnavailable } from './redis-connections.js';
import type { ChallengeLimits, ChallengeRefusal, Clock, NodeRecord, PublicNode, Registration, Registry, UnreachableReport } from './registry.js';

/**
 * Issues a challenge in one step. KEYS[1] = chal:{c}, KEYS[2] = chalip:{ip},
 * KEYS[3] / KEYS[4] = the global counters of this TTL window and the one
 * before; ARGV = "publicKey ip", ttl (ms), the per-address cap, the global cap.
 * The per-address counter lives a ttl past the address's last challenge, so
 * it never forgets one that could still be used (it may count a lapsed one
 * until then: it errs on refusing). The global counters count what was issued
 * in the current and the previous window (each lives two windows), which is
 * at least what can still be outstanding.
 * Returns 1 (issued), 0 (a cap is reached), -1 (the value exists).
 */
const ISSUE_CHALLENGE = `
local total = tonumber(redis.call('GET', KEYS[3]) or '0') + tonumber(redis.call('GET', KEYS[4]) or '0')
if total >= tonumber(ARGV[4]) then return 0 end
local n = redis.call('INCR', KEYS[2])
if n > tonumber(ARGV[3]) then
  redis.call('DECR', KEYS[2])
  if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
  return 0
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('DECR', KEYS[2])
  return -1
end
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], 2 * tonumber(ARGV[2]))
return 1`;

/**
 * Takes a challenge at most once (GETDEL) and gives its address's slot back.
 * KEYS[1] = chal:{c}; ARGV[1] = the key prefix of the per-address counters.
 * Returns the public key, or false.
 */
const TAKE_CHALLENGE = `
local v = redis.call('GETDEL', KEYS[1])
if not v then return false end
local sp = string.find(v, ' ', 1, true)
local counter = ARGV[1] .. string.sub(v, sp + 1)
if redis.call('DECR', counter) <= 0 then redis.call('DEL', counter) end
return string.sub(v, 1, sp - 1)`;

export interface RedisRegistryOptions {
  url: string;
  prefix: string;
  commandTimeoutMs: number;
  logger: Logger;
  clock?: Clock;
  /** uniform in [0, 1); shuffles the script's candidates */
  random?: () => number;
}

/**
 * Session keys are stored as their sha256 (the `key` field and `session:{sha}`),
 * so whoever can read Redis (a dump, a replica, a MONITOR) learns no key that
 * works against the Point.
 */
function digest(sessionKey: string): string {
  return createHash('sha256').update(sessionKey).digest('base64url');
}

/** Optimistic transactions give up after this many aborted EXECs in a row. */
const MAX_TX_ATTEMPTS = 5;
/** Ids trimmed per WATCHed transaction inside one sweep. */
const SWEEP_CHUNK = 50;

export class RedisRegistry implements Registry {
  private readonly redis: RedisConnections;
  private readonly p: string;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;

  constructor(options: RedisRegistryOptions) {
    this.redis = new RedisConnections({ url: options.url, commandTimeoutMs: options.commandTimeoutMs, logger: options.logger });
    this.p = options.prefix;
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.logger = options.logger;
  }

  async start(): Promise<void> {
    await this.redis.connect();
    try {
      await this.loadScript();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'redis not reachable at start; serving 503 until it is');
    }
  }

  async stop(): Promise<void> {
    await this.redis.close();
  }

  async register(reg: Registration, ttlMs: number): Promise<void> {
    const now = this.clock();
    await this.transaction(reg.id, async (conn, old) => {
      const tx = conn.multi();
      if (old.key !== undefined) tx.del(this.sessionKey(old.key));
      if (old.ip !== undefined && old.ip !== reg.ip) tx.srem(this.ipKey(old.ip), reg.id);
      tx.del(this.nodeKey(reg.id));
      tx.hset(this.nodeKey(reg.id), {
        key: digest(reg.sessionKey), ip: reg.ip, port: String(reg.port), publicKey: reg.publicKey,
        registered: String(now), seen: String(now), expires: String(now + ttlMs),
      });
      tx.sadd(this.k('nodes'), reg.id);
      tx.zadd(this.k('expiry'), now + ttlMs, reg.id);
      tx.set(this.sessionKey(digest(reg.sessionKey)), reg.id);
      tx.sadd(this.ipKey(reg.ip), reg.id);
      tx.del(this.k(`unreach:${reg.id}`));
      return tx.exec();
    });
  }

  async authenticate(sessionKey: string): Promise<NodeRecord | undefined> {
    const stored = digest(sessionKey);
    const id = await this.call(() => this.redis.main.get(this.sessionKey(stored)));
    if (id === null) return undefined;
    const hash = await this.call(() => this.redis.main.hgetall(this.nodeKey(id)));
    // A session key left over from a replaced registration maps to an id whose hash holds another key.
    return hash.key === stored ? this.live(id, hash) : undefined;
  }

  async get(id: string): Promise<NodeRecord | undefined> {
    const hash = await this.call(() => this.redis.main.hgetall(this.nodeKey(id)));
    return this.live(id, hash);
  }

  /**
   * MULTI (HSET seen/expires, ZADD expiry) after checking the node is live.
   * No WATCH, on purpose: heartbeats are the hot path. If a sweep or a
   * removal deletes the node between the check and the EXEC, the HSET
   * recreates a hash holding only seen/expires. Such a partial hash is
   * invisible (authentication, get and the look script all require key, ip,
   * port and publicKey) and the ZADD puts it back in the sweeper's way, so it
   * is trimmed once it lapses.
   */
  async heartbeat(id: string, ttlMs: number): Promise<boolean> {
    const now = this.clock();
    const record = await this.get(id);
    if (record === undefined) return false;
    await this.call(() => this.redis.main.multi()
      .hset(this.nodeKey(id), { seen: String(now), expires: String(now + ttlMs) })
      .zadd(this.k('expiry'), now + ttlMs, id)
      .exec());
    return true;
  }

  async look(sessionKey: string, count: number): Promise<PublicNode[] | undefined> {
    const args = [this.p, digest(sessionKey), String(count), String(this.clock())];
    const rows = await this.call(async () => {
      try {
        return await this.redis.main.evalsha(LOOK_SCRIPT_SHA, 1, this.k('nodes'), ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        await this.loadScript();
        return this.redis.main.evalsha(LOOK_SCRIPT_SHA, 1, this.k('nodes'), ...args);
      }
    });
    if (rows === null) return undefined;
    return shuffledPrefix(rows as string[][], count, this.random).map(([id, ip, port, publicKey]) => ({
      id: id as string, ip: ip as string, port: Number(port), publicKey: publicKey as string,
    }));
  }

  async remove(id: string): Promise<void> {
    await this.transaction(id, async (conn, old) => this.removal(conn.multi(), id, old).exec());
  }

  async removeByIp(ip: string): Promise<string[]> {
    const ids = await this.call(() => this.redis.main.smembers(this.ipKey(ip)));
    const removed: string[] = [];
    for (const id of ids) {
      const record = await this.get(id);
      if (record?.ip === ip) {
        await this.remove(id);
        removed.push(id);
      }
    }
    return removed;
  }

  async reportUnreachable(targetId: string, reporterIp: string, quorum: number, windowMs: number): Promise<UnreachableReport> {
    const now = this.clock();
    const key = this.k(`unreach:${targetId}`);
    const replies = await this.call(() => this.redis.main.multi()
      .zadd(key, now + windowMs, reporterIp)
      .zremrangebyscore(key, '-inf', now)
      .zcard(key)
      .pexpire(key, windowMs)
      .exec());
    const reports = Number(replies?.[2]?.[1] ?? 0);
    if (reports < quorum) return { reports, removed: false };
    await this.remove(targetId);
    return { reports, removed: true };
  }

  async issueChallenge(challenge: string, publicKey: string, ip: string, ttlMs: number, limits: ChallengeLimits): Promise<true | ChallengeRefusal> {
    // the Points sharing this Redis need their clocks to agree only to well within a TTL
    const window = Math.floor(this.clock() / ttlMs);
    const outcome = await this.call(() => this.redis.main.eval(
      ISSUE_CHALLENGE, 4, this.k(`chal:${challenge}`), this.k(`chalip:${ip}`), this.k(`chalall:${window}`), this.k(`chalall:${window - 1}`),
      `${publicKey} ${ip}`, String(ttlMs), String(limits.perIp), String(limits.total),
    ));
    if (Number(outcome) === 1) return true;
    if (Number(outcome) === 0) return 'too-many';
    throw new CdnError('POINT_ERR_INTERNAL', 'a fresh registration challenge collided with a stored one');
  }

  async takeChallenge(challenge: string): Promise<string | undefined> {
    const publicKey = await this.call(() => this.redis.main.eval(TAKE_CHALLENGE, 1, this.k(`chal:${challenge}`), this.k('chalip:')));
    return typeof publicKey === 'string' ? publicKey : undefined;
  }

  async sweep(batch: number): Promise<number> {
    const now = this.clock();
    const due = await this.call(() => this.redis.main.zrangebyscore(this.k('expiry'), '-inf', now, 'LIMIT', 0, batch));
    let removed = 0;
    for (let i = 0; i < due.length; i += SWEEP_CHUNK) {
      removed += await this.sweepChunk(due.slice(i, i + SWEEP_CHUNK), now);
    }
    return removed;
  }

  async size(): Promise<number> {
    return this.call(() => this.redis.main.scard(this.k('nodes')));
  }

  async ping(): Promise<void> {
    await this.call(() => this.redis.main.ping());
  }

  /** WATCHes the chunk's hashes, re-reads them, and trims only those still lapsed. */
  private async sweepChunk(ids: string[], now: number): Promise<number> {
    let removed = 0;
    await this.call(() => this.redis.withTx(async (conn) => {
      await conn.watch(...ids.map((id) => this.nodeKey(id)));
      const read = conn.pipeline();
      for (const id of ids) read.hmget(this.nodeKey(id), 'key', 'ip', 'expires');
      const rows = (await read.exec()) ?? [];
      const tx = conn.multi();
      removed = 0;
      ids.forEach((id, i) => {
        const [key, ip, expires] = (rows[i]?.[1] ?? []) as Array<string | null>;
        if (expires !== null && expires !== undefined && Number(expires) > now) return; // heartbeated meanwhile
        this.removal(tx, id, { key: key ?? undefined, ip: ip ?? undefined });
        removed++;
      });
      if (removed === 0) return;
      // An aborted EXEC (a heartbeat touched one of them) leaves the chunk for the next sweep.
      if ((await tx.exec()) === null) removed = 0;
    }));
    return removed;
  }

  private removal(tx: ChainableCommander, id: string, old: { key?: string | undefined; ip?: string | undefined }): ChainableCommander {
    tx.del(this.nodeKey(id));
    if (old.key !== undefined) tx.del(this.sessionKey(old.key));
    if (old.ip !== undefined) tx.srem(this.ipKey(old.ip), id);
    tx.srem(this.k('nodes'), id);
    tx.zrem(this.k('expiry'), id);
    tx.del(this.k(`unreach:${id}`));
    return tx;
  }

  /**
   * WATCH node:{id}, read what is there, let `build` queue a MULTI and EXEC
   * it; retry when another client changed the hash in between.
   */
  private async transaction(
    id: string,
    build: (conn: Redis, old: { key?: string | undefined; ip?: string | undefined; expires?: string | undefined }) => Promise<unknown>,
  ): Promise<void> {
    await this.call(() => this.redis.withTx(async (conn) => {
      for (let attempt = 0; attempt < MAX_TX_ATTEMPTS; attempt++) {
        await conn.watch(this.nodeKey(id));
        const [key, ip, expires] = await conn.hmget(this.nodeKey(id), 'key', 'ip', 'expires');
        const result = await build(conn, { key: key ?? undefined, ip: ip ?? undefined, expires: expires ?? undefined });
        if (result !== null) return;
      }
      throw new CdnError('POINT_ERR_REDIS_UNAVAILABLE', `Redis transaction on ${id} kept being interrupted`);
    }));
  }

  private async loadScript(): Promise<void> {
    const sha = await this.redis.main.script('LOAD', LOOK_SCRIPT);
    if (sha !== LOOK_SCRIPT_SHA) throw new Error(`look script sha mismatch: ${String(sha)}`);
  }

  private live(id: string, hash: Record<string, string>): NodeRecord | undefined {
    const { key, ip, port, publicKey, registered, seen, expires } = hash;
    if (key === undefined || ip === undefined || port === undefined || publicKey === undefined || expires === undefined) return undefined;
    const expiresAt = Number(expires);
    if (!(expiresAt > this.clock())) return undefined;
    return { id, ip, port: Number(port), publicKey, registeredAt: Number(registered), lastSeen: Number(seen), expiresAt };
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw redisUnavailable(err);
    }
  }

  private k(name: string): string {
    return `${this.p}${name}`;
  }

  private nodeKey(id: string): string {
    return this.k(`node:${id}`);
  }

  private sessionKey(key: string): string {
    return this.k(`session:${key}`);
  }

  private ipKey(ip: string): string {
    return this.k(`ip:${ip}`);
  }
}

/** The first `count` items of a uniform shuffle (partial Fisher-Yates, in place). */
export function shuffledPrefix<T>(items: T[], count: number, random: () => number): T[] {
  const n = Math.min(count, items.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (items.length - i));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items.slice(0, n);
}
