/**
 * Vector clocks: node id → counter, compared entrywise (absent means 0).
 *
 * Every clock this module returns is *normalized*: own keys only, each a node
 * id (`n` + 16 lower hex digits), each value an integer in
 * 1..MAX_CLOCK_COUNTER (zero entries are dropped), at most MAX_CLOCK_ENTRIES
 * entries, keys in ascending order, and the object frozen. Two clocks are
 * equal as clocks exactly when their normalized forms are structurally equal.
 *
 * The wire form is the `Vector-Clock` HTTP header (SPEC §3.2), an RFC 8941
 * dictionary parsed and serialized by `structured-headers`, never by hand.
 */
import { parseDictionary, serializeDictionary } from 'structured-headers';
import type { Dictionary } from 'structured-headers';
import type { ClockOrder, VectorClock } from './types.js';

/** A clock has one entry per node that ever wrote the key; more is refused. */
export const MAX_CLOCK_ENTRIES = 256;

/** The largest `Vector-Clock` header we parse, in bytes. */
export const MAX_VECTOR_CLOCK_HEADER_BYTES = 8192;

/**
 * The largest counter. RFC 8941 integers have at most 15 digits, and with
 * counters of at most 12 digits a clock of MAX_CLOCK_ENTRIES entries formats
 * to at most 256 × (18 + 12) + 255 × 2 = 8,190 bytes, so every valid clock
 * formats to a header that parses back (the round trip is total). 10^12 writes
 * to one key accepted by one node is far beyond any real workload.
 */
export const MAX_CLOCK_COUNTER = 999_999_999_999;

/** A node id as SPEC §3.2 defines it (`src/identity` has the same pattern; we may not import it). */
export const NODE_ID_PATTERN = /^n[0-9a-f]{16}$/;

/** Thrown for any malformed clock or header; the message says what is wrong. */
export class VectorClockError extends Error {
  override readonly name = 'VectorClockError';
}

const EMPTY_CLOCK: VectorClock = Object.freeze({});

export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && NODE_ID_PATTERN.test(value);
}

function describeKey(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

/** The counter of `nodeId` in `c` (0 when absent); reads own properties only. */
export function counterOf(c: VectorClock, nodeId: string): number {
  return Object.hasOwn(c, nodeId) ? (c[nodeId] ?? 0) : 0;
}

/**
 * Validates a clock and returns its normalized form (see the module comment).
 * Only own enumerable keys are read, so an inherited or prototype-polluting
 * key can neither sneak in nor crash the check.
 * @throws VectorClockError naming the first offending entry.
 */
export function normalizeClock(c: Readonly<Record<string, number>>): VectorClock {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new VectorClockError('a vector clock must be an object of node id to counter');
  }
  const keys = Object.keys(c);
  if (keys.length > MAX_CLOCK_ENTRIES) {
    throw new VectorClockError(`a vector clock has at most ${MAX_CLOCK_ENTRIES} entries, got ${keys.length}`);
  }
  const kept: string[] = [];
  for (const key of keys) {
    if (!NODE_ID_PATTERN.test(key)) {
      throw new VectorClockError(`vector clock key ${describeKey(key)} is not a node id (n + 16 lower-case hex digits)`);
    }
    const value: unknown = c[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || Object.is(value, -0)) {
      throw new VectorClockError(`vector clock entry ${key} must be a non-negative integer, got ${String(value)}`);
    }
    if (value > MAX_CLOCK_COUNTER) {
      throw new VectorClockError(`vector clock entry ${key} exceeds the maximum counter ${MAX_CLOCK_COUNTER}`);
    }
    if (value > 0) kept.push(key);
  }
  if (kept.length === 0) return EMPTY_CLOCK;
  kept.sort();
  const out: Record<string, number> = {};
  for (const key of kept) out[key] = c[key] as number;
  return Object.freeze(out);
}

function unionKeys(a: VectorClock, b: VectorClock): Set<string> {
  const keys = new Set(Object.keys(a));
  for (const k of Object.keys(b)) keys.add(k);
  return keys;
}

/**
 * How `a` relates to `b`: 'before' when b strictly descends a (a happened
 * before b), 'after' when a strictly descends b, 'equal', or 'concurrent'.
 */
export function compareClocks(a: VectorClock, b: VectorClock): ClockOrder {
  let aAhead = false;
  let bAhead = false;
  for (const k of unionKeys(a, b)) {
    const x = counterOf(a, k);
    const y = counterOf(b, k);
    if (x > y) aAhead = true;
    else if (y > x) bAhead = true;
    if (aAhead && bAhead) return 'concurrent';
  }
  if (aAhead) return 'after';
  if (bAhead) return 'before';
  return 'equal';
}

/** a ≥ b entrywise: a has seen everything b has (the empty clock descends from nothing but itself and is descended by all). */
export function descends(a: VectorClock, b: VectorClock): boolean {
  for (const k of Object.keys(b)) {
    if (counterOf(a, k) < counterOf(b, k)) return false;
  }
  return true;
}

/** a > b: a descends b and is not equal to it. */
export function dominates(a: VectorClock, b: VectorClock): boolean {
  return compareClocks(a, b) === 'after';
}

/** Entrywise maximum of any number of clocks (none → the empty clock), normalized. */
export function mergeClocks(...clocks: VectorClock[]): VectorClock {
  const out: Record<string, number> = {};
  for (const c of clocks) {
    for (const k of Object.keys(c)) {
      const v = counterOf(c, k);
      if (!Object.hasOwn(out, k) || (out[k] ?? 0) < v) out[k] = v;
    }
  }
  return normalizeClock(out);
}

/**
 * `c` with `nodeId`'s entry incremented by one, normalized.
 * @throws VectorClockError for a malformed node id, a counter at
 * MAX_CLOCK_COUNTER, or a clock that would pass MAX_CLOCK_ENTRIES.
 */
export function incrementClock(c: VectorClock, nodeId: string): VectorClock {
  if (!isNodeId(nodeId)) {
    throw new VectorClockError(`cannot increment: ${describeKey(String(nodeId))} is not a node id`);
  }
  const next: Record<string, number> = {};
  for (const k of Object.keys(c)) next[k] = counterOf(c, k);
  next[nodeId] = counterOf(c, nodeId) + 1;
  return normalizeClock(next);
}

/**
 * Parses a `Vector-Clock` header: an RFC 8941 dictionary whose every member is
 * a bare non-negative Integer (no parameters, inner lists, decimals, strings,
 * tokens, byte sequences, booleans, dates). The empty string (or only
 * whitespace) is the empty clock. A key given twice keeps its last value, as
 * RFC 8941 §4.2.2 requires.
 * @throws VectorClockError for anything else, including a header over
 * MAX_VECTOR_CLOCK_HEADER_BYTES or with more than MAX_CLOCK_ENTRIES members.
 */
export function parseVectorClockHeader(text: string): VectorClock {
  if (typeof text !== 'string') throw new VectorClockError('the Vector-Clock header must be a string');
  if (text.length > MAX_VECTOR_CLOCK_HEADER_BYTES || new TextEncoder().encode(text).length > MAX_VECTOR_CLOCK_HEADER_BYTES) {
    throw new VectorClockError(`the Vector-Clock header is longer than ${MAX_VECTOR_CLOCK_HEADER_BYTES} bytes`);
  }
  let dict: Dictionary;
  try {
    dict = parseDictionary(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new VectorClockError(`the Vector-Clock header is not an RFC 8941 dictionary (${why})`);
  }
  if (dict.size > MAX_CLOCK_ENTRIES) {
    throw new VectorClockError(`the Vector-Clock header has more than ${MAX_CLOCK_ENTRIES} entries (${dict.size})`);
  }
  const raw: Record<string, number> = {};
  for (const [key, member] of dict) {
    if (!NODE_ID_PATTERN.test(key)) {
      throw new VectorClockError(`Vector-Clock key ${describeKey(key)} is not a node id (n + 16 lower-case hex digits)`);
    }
    const [value, params] = member;
    if (Array.isArray(value)) throw new VectorClockError(`Vector-Clock entry ${key} is an inner list, not an integer`);
    if (params.size > 0) throw new VectorClockError(`Vector-Clock entry ${key} has parameters; none are allowed`);
    if (typeof value !== 'number') {
      throw new VectorClockError(`Vector-Clock entry ${key} must be a non-negative integer, got a ${typeof value === 'boolean' ? 'boolean (or no value)' : 'non-number'}`);
    }
    if (!Number.isInteger(value) || value < 0 || Object.is(value, -0)) {
      throw new VectorClockError(`Vector-Clock entry ${key} must be a non-negative integer, got ${String(value)}`);
    }
    raw[key] = value;
  }
  // The parser reads a Decimal such as `3.0` into the number 3, indistinguishable
  // from the Integer 3. Once every key is known to be a node id and every member
  // an unparameterized number, a Decimal is the only RFC 8941 production left
  // that can put a '.' in the text, so a '.' means a decimal value.
  if (text.includes('.')) throw new VectorClockError('Vector-Clock values must be integers, not decimals');
  return normalizeClock(raw);
}

/**
 * Formats a clock as a `Vector-Clock` header value: keys ascending, zero entries
 * dropped, the empty clock as the empty string. `parseVectorClockHeader` reads
 * it back to an equal clock.
 * @throws VectorClockError when `c` is not a valid clock.
 */
export function formatVectorClockHeader(c: VectorClock): string {
  const n = normalizeClock(c);
  const dict: Dictionary = new Map();
  for (const k of Object.keys(n)) dict.set(k, [n[k] as number, new Map()]);
  return dict.size === 0 ? '' : serializeDictionary(dict);
}

/**
 * A canonical string for a clock (`n…=3,n…=1`, keys ascending, zero entries
 * dropped, the empty clock as ''), so equal clocks give equal strings. For map
 * keys and deterministic tie-breaks; not a header (use formatVectorClockHeader).
 * @throws VectorClockError when `c` is not a valid clock.
 */
export function clockKey(c: VectorClock): string {
  const n = normalizeClock(c);
  return Object.keys(n).map((k) => `${k}=${n[k] as number}`).join(',');
}
