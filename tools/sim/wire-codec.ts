/**
 * How a message crosses the simulated wire, fast: its exact JSON size and a
 * deep-frozen copy for the receiver, as if it had been serialised and parsed,
 * without serialising and parsing it whole for every delivery.
 *
 * The expensive parts of gossip messages are their lists of items (member
 * updates, versions), and the same item objects travel in many messages (a
 * queued update is piggybacked up to λ·log N times; a version goes to every
 * peer). Each item is sized and copied once, on its first send, and its JSON
 * length and frozen copy are remembered (keyed by the object); flat items
 * (member updates) are sized by arithmetic, nested ones (versions) through
 * JSON. The rest of a message is small and goes through JSON each time.
 *
 * This assumes an item is not changed after it was first sent. The protocol
 * never does (versions are frozen; updates are built fresh, filled in and sent);
 * `validated` mode checks it by serialising every message in full and
 * comparing sizes, and receivers get frozen copies, so a receiver that writes
 * into a message it was handed fails loudly instead of corrupting a sender.
 */
import type { GossipMessage } from '../../src/gossip/core/messages.js';

/**
 * Fields whose array elements are items, and how they are sized and copied:
 * member updates (piggybacked, or a full sync's members) by arithmetic on
 * their known shape, every time (cheaper than remembering them: a 1,000-node
 * partition keeps a million of them queued); versions, which are frozen and
 * nested and go to many peers, once, remembered by identity.
 */
const ITEM_LISTS: ReadonlyMap<string, 'member' | 'remembered'> = new Map([['updates', 'member'], ['members', 'member'], ['versions', 'remembered']]);

interface CachedItem {
  readonly bytes: number;
  readonly copy: unknown;
}

export interface Encoded {
  /** exact length of JSON.stringify(message) */
  readonly bytes: number;
  /** of which the piggybacked membership `updates` field (with its name and comma) */
  readonly piggybackBytes: number;
  /** what the receiver gets: equal to JSON.parse(JSON.stringify(message)), deep-frozen */
  readonly copy: GossipMessage;
}

export class WireCodec {
  private readonly items = new WeakMap<object, CachedItem>();
  /** items serialised (cache misses) and reused (hits), for reports */
  misses = 0;
  hits = 0;

  encode(message: GossipMessage): Encoded {
    const copy: Record<string, unknown> = {};
    let bytes = 2; // {}
    let fields = 0;
    let piggybackBytes = 0;
    for (const key of Object.keys(message)) {
      const value = (message as unknown as Record<string, unknown>)[key];
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
      let valueBytes: number;
      const remember = ITEM_LISTS.get(key);
      if (remember !== undefined && Array.isArray(value)) {
        const list: unknown[] = [];
        valueBytes = 2 + Math.max(0, value.length - 1); // [] and commas
        for (const item of value as unknown[]) {
          const cached = remember === 'member' ? (memberItem(item) ?? this.item(item, false)) : this.item(item, true);
          valueBytes += cached.bytes;
          list.push(cached.copy);
        }
        copy[key] = Object.freeze(list);
      } else if (typeof value === 'string' && PLAIN.test(value)) {
        valueBytes = value.length + 2;
        copy[key] = value;
      } else if (typeof value === 'number' && Number.isFinite(value)) {
        valueBytes = String(value).length;
        copy[key] = value;
      } else if (typeof value === 'boolean') {
        valueBytes = value ? 4 : 5;
        copy[key] = value;
      } else {
        const json = JSON.stringify(value);
        valueBytes = json.length;
        copy[key] = deepFreeze(JSON.parse(json) as unknown);
      }
      const fieldBytes = (PLAIN.test(key) ? key.length + 2 : JSON.stringify(key).length) + 1 + valueBytes;
      bytes += fieldBytes;
      if (key === 'updates') piggybackBytes = fieldBytes + 1;
      fields++;
    }
    if (fields > 1) bytes += fields - 1;
    return { bytes, piggybackBytes, copy: Object.freeze(copy) as unknown as GossipMessage };
  }

  private item(item: unknown, remember: boolean): CachedItem {
    if (typeof item !== 'object' || item === null) {
      const json = JSON.stringify(item);
      return { bytes: json.length, copy: JSON.parse(json) as unknown };
    }
    if (!remember) return flatItem(item as Record<string, unknown>) ?? this.serialised(item);
    let cached = this.items.get(item);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    cached = flatItem(item as Record<string, unknown>) ?? this.serialised(item);
    this.items.set(item, cached);
    return cached;
  }

  private serialised(item: object): CachedItem {
    const json = JSON.stringify(item);
    return { bytes: json.length, copy: deepFreeze(JSON.parse(json) as unknown) };
  }
}

/** JSON lengths of the fixed parts of a member update: braces, keys, quotes, colons, commas. */
const MEMBER_FRAME = '{"id":"","address":"","publicKey":"","incarnation":,"state":""}'.length;
const MEMBER_BY_FRAME = ',"by":""'.length;

/**
 * A member update ({id, address, publicKey, incarnation, state, by?}, as
 * messages.ts defines it) sized by arithmetic and copied by hand; anything
 * else, or a string JSON would escape: undefined (sized the general way).
 * An extra field would be missed here; the wire schema refuses those, and
 * `validated` mode compares every size with JSON.
 */
function memberItem(item: unknown): CachedItem | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const u = item as Partial<Record<'id' | 'address' | 'publicKey' | 'state' | 'by', unknown>> & { incarnation?: unknown };
  const { id, address, publicKey, incarnation, state, by } = u;
  if (typeof id !== 'string' || typeof address !== 'string' || typeof publicKey !== 'string' || typeof state !== 'string') return undefined;
  if (typeof incarnation !== 'number' || !Number.isSafeInteger(incarnation) || incarnation < 0) return undefined;
  if (!PLAIN.test(address) || !PLAIN.test(id) || !PLAIN.test(publicKey) || !PLAIN.test(state)) return undefined;
  let bytes = MEMBER_FRAME + id.length + address.length + publicKey.length + String(incarnation).length + state.length;
  if (by === undefined) return { bytes, copy: Object.freeze({ id, address, publicKey, incarnation, state }) };
  if (typeof by !== 'string' || !PLAIN.test(by)) return undefined;
  bytes += MEMBER_BY_FRAME + by.length;
  return { bytes, copy: Object.freeze({ id, address, publicKey, incarnation, state, by }) };
}

/** Strings JSON writes as they are, between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * The common case without JSON: an object whose values are plain strings,
 * finite numbers, booleans or undefined (a member update). Its size is
 * computed and its copy is a frozen shallow copy; anything else: undefined.
 */
function flatItem(item: Record<string, unknown>): CachedItem | undefined {
  const copy: Record<string, unknown> = {};
  let bytes = 2;
  let fields = 0;
  for (const key of Object.keys(item)) {
    const value = item[key];
    let size: number;
    if (value === undefined) continue;
    if (typeof value === 'string') {
      if (!PLAIN.test(value)) return undefined;
      size = value.length + 2;
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return undefined;
      size = String(value).length;
    } else if (typeof value === 'boolean') {
      size = value ? 4 : 5;
    } else {
      return undefined;
    }
    if (!PLAIN.test(key)) return undefined;
    bytes += key.length + 3 + size;
    fields++;
    copy[key] = value;
  }
  if (fields > 1) bytes += fields - 1;
  return { bytes, copy: Object.freeze(copy) };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
