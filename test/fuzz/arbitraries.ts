/**
 * fast-check generators of hostile input, shared by the fuzz files. Each
 * generator yields only values that are wrong by construction (so the
 * expected answer is known without re-implementing the server's checks):
 * GUIDs, header values, ranges, query strings and JSON bodies.
 */
import fc from 'fast-check';

const HEX = '0123456789abcdef';
/** Characters that are never valid in a GUID, in any position. */
const NOT_HEX = ['g', 'z', 'G', 'Z', '_', '~', '.', '!', '*', "'", '(', ')', 'é', 'ß', '中', '\u0000', '\u202e', '😀', ' ', '+'];
/** Names that pollute prototypes when a parser assigns them naively. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

export const hexString = (length: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...HEX), { minLength: length, maxLength: length }).map((a) => a.join(''));

export const nodeId = hexString(16).map((h) => `n${h}`);

/** A path segment (already percent-encoded) that is not a GUID; never empty and never a raw '/'. */
export const badGuidSegment: fc.Arbitrary<string> = fc.oneof(
  // one character replaced by one that is never valid there
  fc.tuple(fc.uuid(), fc.nat(35), fc.constantFrom(...NOT_HEX)).map(([u, i, c]) => encodeURIComponent(u.slice(0, i) + c + u.slice(i + 1))),
  // wrong length: cut or extended
  fc.tuple(fc.uuid(), fc.integer({ min: 1, max: 35 })).map(([u, n]) => u.slice(0, n)),
  fc.tuple(fc.uuid(), hexString(1).chain((h) => fc.integer({ min: 1, max: 40 }).map((n) => h.repeat(n)))).map(([u, x]) => u + x),
  // hyphens moved or missing
  fc.uuid().map((u) => u.replace(/-/g, '')),
  fc.uuid().map((u) => `-${u.slice(0, 35)}`),
  // an invalid version nibble (0 or 9-f) or variant (0-7, c-f)
  fc.tuple(fc.uuid(), fc.constantFrom('0', '9', 'c', 'f')).map(([u, v]) => `${u.slice(0, 14)}${v}${u.slice(15)}`).filter((u) => !/^0{8}-0{4}-0/.test(u) && !/^f{8}-f{4}-f/.test(u)),
  fc.tuple(fc.uuid(), fc.constantFrom('0', '7', 'c', 'f')).map(([u, v]) => `${u.slice(0, 19)}${v}${u.slice(20)}`).filter((u) => !/^0{8}-0{4}-0{4}-0/.test(u) && !/^f{8}-f{4}-f{4}-f/.test(u)),
  // path traversal and encoding tricks
  fc.constantFrom('..', '.', '%2e%2e', '%2E%2E%2F%2E%2E%2Fidentity.json', '..%2F..%2Fmeta', '%2F', '%5C..%5C', '%00', 'a%00b', '%252e%252e', '%C0%AE%C0%AE',
    '%E0%A4%A', '%', '%zz', '%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd%00.json', 'con', 'NUL', 'versions', '*'),
  // unicode text, NUL and control characters
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  // very long
  fc.integer({ min: 37, max: 6000 }).map((n) => 'a'.repeat(n)),
).filter((s) => s.length > 0);

// ---- headers ---------------------------------------------------------------

const badCounter = fc.oneof(
  fc.integer({ min: -1_000_000, max: -1 }).map(String),
  fc.tuple(fc.nat(1000), fc.integer({ min: 1, max: 999 })).map(([a, b]) => `${a}.${b}`),
  fc.constantFrom('"1"', 'abc', '?1', '?0', '(1 2)', ':AAA=:', '1;a=2', '12345678901234567', '9999999999999999999999', '1e3', '0x10', '-0', '1.0', ''),
);

/** A Vector-Clock value that is not a dictionary of node id to non-negative integer. */
export const badVectorClock: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(nodeId, badCounter).map(([id, v]) => (v === '' ? `${id}=` : `${id}=${v}`)),
  fc.tuple(fc.array(fc.tuple(nodeId, fc.nat(1000)), { maxLength: 5 }), nodeId, badCounter).map(([ok, id, v]) => [...ok.map(([i, n]) => `${i}=${n}`), `${id}=${v === '' ? '"x"' : v}`].join(', ')),
  fc.tuple(fc.constantFrom(...PROTO_KEYS, 'n1', 'nZZZZZZZZZZZZZZZZ', 'N0123456789ABCDEF', 'n0123456789abcdef0', 'toString', 'hasOwnProperty', '*'), fc.nat(9)).map(([k, n]) => `${k}=${n}`),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { minKeys: 1, maxKeys: 4 }).map((d) => JSON.stringify(d)),
  fc.constantFrom('{"__proto__":{"polluted":1}}', '[1,2]', 'null', '=', ',', 'n0123456789abcdef=1,,', ' , ', 'n0123456789abcdef=1 n0123456789abcdef=2'),
  // more than 256 entries
  fc.integer({ min: 257, max: 300 }).map((n) => Array.from({ length: n }, (_, i) => `n${i.toString(16).padStart(16, '0')}=1`).join(', ')),
  // longer than 8192 bytes
  fc.integer({ min: 8193, max: 12_000 }).map((n) => `n0123456789abcdef=${'1'.repeat(3)}, x=${'9'.repeat(n)}`),
);

const etagChar = fc.constantFrom(...'abcdef0123456789xyz');
const goodEtag = fc.array(etagChar, { minLength: 1, maxLength: 12 }).map((c) => `"${c.join('')}"`);
const badEtag = fc.oneof(
  fc.array(etagChar, { minLength: 1, maxLength: 12 }).map((c) => c.join('')),
  fc.array(etagChar, { minLength: 1, maxLength: 12 }).map((c) => `W/${c.join('')}`),
  fc.array(etagChar, { minLength: 1, maxLength: 12 }).map((c) => `"${c.join('')}`),
  fc.array(etagChar, { minLength: 1, maxLength: 12 }).map((c) => `"a b${c.join('')}"`),
  fc.constantFrom('w/"x"', 'W/ "x"', '""x', '"x"y', '**', '* *', '"x" "y"'),
);

/** An If-Match / If-None-Match value that is not `*` or a list of entity tags. */
export const badEtagList: fc.Arbitrary<string> = fc.oneof(
  badEtag,
  fc.tuple(fc.array(goodEtag, { maxLength: 4 }), badEtag, fc.array(goodEtag, { maxLength: 4 })).map(([a, b, c]) => [...a, b, ...c].join(', ')),
  fc.constantFrom('*, "x"', '"x", *', ',', ' , , '),
  fc.integer({ min: 65, max: 200 }).map((n) => Array.from({ length: n }, (_, i) => `"t${i}"`).join(',')),
);

/** A Content-Type that is not a media type of at most 255 printable characters. */
export const badContentType: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-z]{1,20}$/),
  fc.tuple(fc.stringMatching(/^[a-z]{1,10}$/), fc.stringMatching(/^[a-z]{1,10}$/)).map(([a, b]) => `${a}/${b} ${a}`),
  fc.constantFrom('/', 'text/', '/plain', 'text/plain/extra', 'a b/c', 'text/pl"ain', '{}/[]'),
  fc.integer({ min: 250, max: 400 }).map((n) => `text/${'a'.repeat(n)}`),
);

/** A Cache-Control that is not at most 255 printable characters. */
export const badCacheControl: fc.Arbitrary<string> = fc.integer({ min: 256, max: 2000 }).map((n) => `max-age=${'9'.repeat(n)}`);

/** X-Content-SHA256 that is not 64 hex digits. */
export const badSha256Header: fc.Arbitrary<string> = fc.oneof(
  fc.nat(63).chain((n) => hexString(n)).filter((s) => s.length > 0),
  fc.integer({ min: 65, max: 200 }).chain((n) => hexString(n)),
  hexString(63).map((h) => `${h}g`),
);

/** Content-Digest that is not an RFC 8941 dictionary carrying sha-256 of 32 bytes. */
export const badContentDigest: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('sha-256=:short:', '(((', 'sha-256=abc', 'sha-256=:AAAA:', 'md5=:AAAAAAAAAAAAAAAAAAAAAA==:', 'sha-256', 'sha-256=:!!!:', '__proto__=:AA==:'),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).filter((b) => b.length !== 32).map((b) => `sha-256=:${Buffer.from(b).toString('base64')}:`),
);

// ---- ranges ----------------------------------------------------------------

export type RangeCase = { header: string; outcome: 'bad' } | { header: string; outcome: 'unsatisfiable' } | { header: string; outcome: 'full' } | { header: string; outcome: 'single'; start: number; end: number };

/** Range values against a body of `size` bytes (size > 40), each with what the node must do. */
export function rangeCase(size: number): fc.Arbitrary<RangeCase> {
  const bad = (header: string): RangeCase => ({ header, outcome: 'bad' });
  return fc.oneof(
    // no '=' at all
    fc.stringMatching(/^[ -<>-~]{1,60}$/).map(bad),
    // a part without '-'
    fc.tuple(fc.nat(size), fc.nat(size)).map(([a, b]) => bad(`bytes=0-1,${a}${b}`)),
    // non-digits in a position
    fc.tuple(fc.stringMatching(/^[a-z+.x ]{0,3}[a-z+.x][0-9]{0,3}$/), fc.nat(size)).map(([g, n]) => bad(`bytes=${g}-${n}`)),
    fc.tuple(fc.nat(size), fc.stringMatching(/^[0-9]{0,3}[a-z+.][a-z0-9]{0,3}$/)).map(([n, g]) => bad(`bytes=${n}-${g}`)),
    fc.constantFrom('bytes=-', 'bytes=--1', 'bytes=1--2', 'bytes=0-1,', 'bytes=,0-1', 'bytes=0x1-2', 'bytes=1-2-3').map(bad),
    // another unit
    fc.constantFrom('items', 'lines', 'bits', 'Bytes', 'bytes ', '__proto__').map((u) => bad(`${u}=0-1`)),
    // longer than 4096 characters
    fc.integer({ min: 1100, max: 2000 }).map((n) => bad(`bytes=${'0-1,'.repeat(n)}0-1`)),
    // no range inside the body
    fc.integer({ min: size, max: size * 1000 }).map((s) => ({ header: `bytes=${s}-`, outcome: 'unsatisfiable' as const })),
    fc.constant({ header: 'bytes=-0', outcome: 'unsatisfiable' as const }),
    // multi-range explosions: > 16 distinct ranges → the whole body
    fc.integer({ min: 17, max: Math.min(400, Math.floor(size / 2)) }).map((n) => ({ header: `bytes=${Array.from({ length: n }, (_, i) => `${2 * i}-${2 * i}`).join(',')}`, outcome: 'full' as const })),
    // many overlapping ranges combine into one
    fc.tuple(fc.integer({ min: 20, max: 800 }), fc.nat(size - 20)).map(([n, s]) => ({ header: `bytes=${`${s}-${s + 10},`.repeat(n)}${s}-${s + 19}`, outcome: 'single' as const, start: s, end: s + 19 }))
      .filter((c) => c.header.length <= 4096),
  );
}

// ---- JSON ------------------------------------------------------------------

/** `depth` levels of nested arrays (or objects) around a value. */
export function deepNest(depth: number, kind: 'array' | 'object' = 'array'): string {
  return kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Any JSON value, small. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

/** A value of another JSON type than `value`'s (so a schema that wants `value`'s type refuses it). */
export function otherType(value: unknown): fc.Arbitrary<unknown> {
  const kinds: fc.Arbitrary<unknown>[] = [];
  if (typeof value !== 'string') kinds.push(fc.string({ maxLength: 20 }));
  if (typeof value !== 'number') kinds.push(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })));
  if (typeof value !== 'boolean') kinds.push(fc.boolean());
  if (value !== null) kinds.push(fc.constant(null));
  if (!Array.isArray(value)) kinds.push(fc.array(fc.integer(), { maxLength: 3 }));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) kinds.push(fc.constant({}));
  return fc.oneof(...kinds);
}

/** Paths to every value inside `value` (objects and arrays included, the root excluded). */
export function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
}

/** Objects inside `value`, by path (the root included). */
export function objectPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const here = Array.isArray(value) ? [] : [prefix];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return [...here, ...entries.flatMap(([k, v]) => objectPaths(v, [...prefix, k]))];
}

export function getAt(value: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], value);
}

/** A deep copy with the value at `path` replaced (or deleted when `replacement` is DELETE). */
export const DELETE = Symbol('delete');
export function setAt(value: unknown, path: readonly (string | number)[], replacement: unknown): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (replacement === DELETE) delete parent[last];
  else Object.defineProperty(parent, last, { value: replacement, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Text whose JSON is `base` with an extra own key at the root named `key` (`__proto__` survives as an own key). */
export function withExtraKey(baseJson: string, key: string, valueJson: string): string {
  return `{${JSON.stringify(key)}:${valueJson},${baseJson.slice(1)}`;
}

/**
 * Malformed variants of a valid JSON object `base`: each is refused by a
 * strict schema whose required keys are `base`'s keys minus `optional`.
 * Yields the body text (or bytes) and a short label.
 */
export function brokenJson(base: Record<string, unknown>, optional: readonly string[] = []): fc.Arbitrary<{ label: string; body: string | Buffer }> {
  const text = JSON.stringify(base);
  const leaves = pathsOf(base).filter((p) => p.length > 0);
  const required = leaves.filter((p) => typeof p[p.length - 1] === 'string' && !optional.includes(p[p.length - 1] as string));
  const objects = objectPaths(base);
  const arbs: fc.Arbitrary<{ label: string; body: string | Buffer }>[] = [
    // a field of the wrong type (anywhere, nested included)
    fc.constantFrom(...leaves).chain((p) => otherType(getAt(base, p)).map((v) => ({ label: `type@${p.join('.')}`, body: JSON.stringify(setAt(base, p, v)) }))),
    // an unknown key, prototype keys included, at any object level
    fc.tuple(fc.constantFrom(...objects), fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.stringMatching(/^[a-zA-Z_$]{1,12}$/)), anyJson)
      .filter(([p, k]) => !Object.hasOwn(getAt(base, p) as object, k) && !/^n[0-9a-f]{16}$/.test(k))
      .map(([p, k, v]) => ({ label: `extra ${k}@${p.join('.')}`, body: p.length === 0 ? withExtraKey(text, k, JSON.stringify(v)) : JSON.stringify(setAt(base, [...p, k], v)) })),
    // a value nested 10,000 levels deep where a scalar belongs
    fc.tuple(fc.constantFrom(...leaves), fc.integer({ min: 1000, max: 10_000 }), fc.constantFrom('array' as const, 'object' as const))
      .map(([p, d, kind]) => ({ label: `deep${d}@${p.join('.')}`, body: JSON.stringify(setAt(base, p, 0)).replace(/:0([,}\]])/, (_m: string, end: string) => `:${deepNest(d, kind)}${end}`) }))
      .filter((c) => c.body.length > text.length),
    // truncated anywhere (a proper prefix of an object is never JSON)
    fc.nat(text.length - 1).map((n) => ({ label: `truncated@${n}`, body: text.slice(0, n) })),
    // not an object at all
    anyJson.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => ({ label: 'not-object', body: JSON.stringify(v) })),
    // a duplicate key whose last (winning) value has the wrong type
    fc.constantFrom(...Object.keys(base)).chain((k) => otherType(base[k]).map((v) => ({ label: `dup ${k}`, body: `${text.slice(0, -1)},${JSON.stringify(k)}:${JSON.stringify(v)}}` }))),
    // invalid UTF-8 inside a string value
    fc.constantFrom(Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])).map((bad) => {
      const at = text.indexOf('":"') + 3;
      return { label: 'bad-utf8', body: Buffer.concat([Buffer.from(text.slice(0, at)), bad, Buffer.from(text.slice(at))]) };
    }),
    // garbage bytes
    fc.uint8Array({ minLength: 1, maxLength: 200 }).filter((b) => { try { JSON.parse(Buffer.from(b).toString()); return false; } catch { return true; } })
      .map((b) => ({ label: 'garbage', body: Buffer.from(b) })),
  ];
  if (required.length > 0) arbs.push(fc.constantFrom(...required).map((p) => ({ label: `missing ${p.join('.')}`, body: JSON.stringify(setAt(base, p, DELETE)) })));
  return fc.oneof(...arbs);
}
