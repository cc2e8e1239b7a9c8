// The consensus layer: vector clocks, hybrid logical clock, version ordering
// and the winner rule. Pure; re-exports only.
export type { ClockOrder, HlcTimestamp, SiblingSet, Version, VectorClock } from './types.js';
export {
  MAX_CLOCK_COUNTER,
  MAX_CLOCK_ENTRIES,
  MAX_VECTOR_CLOCK_HEADER_BYTES,
  NODE_ID_PATTERN,
  VectorClockError,
  clockKey,
  compareClocks,
  counterOf,
  descends,
  dominates,
  formatVectorClockHeader,
  incrementClock,
  isNodeId,
  mergeClocks,
  normalizeClock,
  parseVectorClockHeader,
} from './vector-clock.js';
export {
  DEFAULT_MAX_FORWARD_DRIFT_MS,
  HlcDriftError,
  HybridLogicalClock,
  MAX_HLC_LOGICAL,
  compareHlc,
  isHlcTimestamp,
} from './hlc.js';
export type { HybridLogicalClockOptions } from './hlc.js';
export {
  MAX_SIBLINGS,
  causalWeight,
  compareWinner,
  contextOf,
  liveWinner,
  mergeSets,
  mergeVersion,
  nextClock,
  pickWinner,
  sameVersion,
  supersedes,
  toSiblingSet,
} from './versions.js';
export {
  EMPTY_SHA256,
  MAX_HEADER_FIELD_CHARS,
  SHA256_HEX_PATTERN,
  VERSION_KEY_PATTERN,
  ORIGIN_KEY_MISMATCH,
  hlcSchema,
  vectorClockSchema,
  versionSchema,
} from './schema.js';
export {
  ORIGIN_KEY_PATTERN,
  SIGNATURE_PATTERN,
  TOKEN_ID_PATTERN,
  VERSION_SIGNING_DOMAIN,
  originKeyMatches,
  versionSigningBytes,
  versionSigningText,
} from './version-bytes.js';
export type { SignedFields } from './version-bytes.js';
