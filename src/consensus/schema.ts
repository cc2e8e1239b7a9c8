/**
 * zod schemas for the consensus types, for versions read from disk or
 * received from peers. Parsing yields normalized, frozen values: a parsed
 * Version is ready for mergeVersion.
 */
import { z } from 'zod';
import { MAX_HLC_LOGICAL } from './hlc.js';
import type { HlcTimestamp, Version, VectorClock } from './types.js';
import { NODE_ID_PATTERN, VectorClockError, normalizeClock } from './vector-clock.js';
import { ORIGIN_KEY_PATTERN, SIGNATURE_PATTERN, TOKEN_ID_PATTERN, originKeyMatches, versionFields } from './version-bytes.js';

/** A key: UUID text, lower case (the version and variant nibbles are not checked). */
export const VERSION_KEY_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;
/** sha256 of the empty string: the digest every tombstone carries. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Longest contentType and cacheControl we keep. */
export const MAX_HEADER_FIELD_CHARS = 255;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * A vector clock object → its normalized form (see normalizeClock). Written
 * as a transform over `unknown` rather than `z.record` because z.record
 * silently drops an own `__proto__` key (JSON.parse creates one) where we
 * want it refused.
 */
export const vectorClockSchema = z.unknown().transform((value, ctx): VectorClock => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'a vector clock must be an object of node id to counter' });
    return z.NEVER;
  }
  try {
    return normalizeClock(value as Record<string, number>);
  } catch (err) {
    if (!(err instanceof VectorClockError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
    return z.NEVER;
  }
});

export const hlcSchema = z
  .strictObject({
    wall: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    logical: z.number().int().min(0).max(MAX_HLC_LOGICAL),
  })
  .transform((t): HlcTimestamp => Object.freeze({ wall: t.wall, logical: t.logical }));

const headerField = z.string().max(MAX_HEADER_FIELD_CHARS).regex(PRINTABLE_ASCII, 'must be printable ASCII');

/**
 * The zod issue `params` a version whose `originKey` does not derive its
 * `origin` is refused with: a receiver can tell a forgery in another node's
 * name from a merely malformed message.
 */
export const ORIGIN_KEY_MISMATCH = { refusal: 'key_mismatch' } as const;

/**
 * A Version. Strict: unknown fields are refused. A tombstone must carry size 0
 * and EMPTY_SHA256. `originKey` and `signature` come together or not at all
 * (unsigned versions are older than signing, or the simulator's; the node's
 * shell refuses them from peers), and `originKey` must derive `origin`; the
 * signature itself is checked by the shell, not here. The output is frozen
 * and has no `cacheControl`, `tokenId`, `originKey` or `signature` property
 * when none was given.
 */
export const versionSchema = z
  .strictObject({
    key: z.string().regex(VERSION_KEY_PATTERN, 'must be a lower-case UUID'),
    clock: vectorClockSchema,
    timestamp: hlcSchema,
    origin: z.string().regex(NODE_ID_PATTERN, 'must be a node id (n + 16 lower-case hex digits)'),
    sha256: z.string().regex(SHA256_HEX_PATTERN, 'must be 64 lower-case hex digits'),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    contentType: headerField.min(1),
    cacheControl: headerField.optional(),
    tombstone: z.boolean(),
    tokenId: z.string().regex(TOKEN_ID_PATTERN, 'must be 1 to 64 base64url characters').optional(),
    originKey: z.string().regex(ORIGIN_KEY_PATTERN, 'must be base64url of 32 bytes').optional(),
    signature: z.string().regex(SIGNATURE_PATTERN, 'must be base64url of 64 bytes').optional(),
  })
  .refine((v) => !v.tombstone || (v.size === 0 && v.sha256 === EMPTY_SHA256), {
    message: 'a tombstone has size 0 and the sha256 of the empty string',
  })
  .refine((v) => (v.originKey === undefined) === (v.signature === undefined), {
    message: 'originKey and signature come together',
  })
  .refine((v) => v.originKey === undefined || originKeyMatches(v.origin, v.originKey), {
    message: 'origin is not the node id of originKey',
    params: ORIGIN_KEY_MISMATCH,
  })
  .transform((v): Version => Object.freeze(versionFields(v)));
