/**
 * The shell's gate for versions from peers (issue 13, "Origin-signed
 * versions"): every version that enters this node from another one — a
 * gossip `versions` or `unstage` message, an answer to a lookup, a staged
 * write — passes here before the protocol core or the store sees it. A
 * version without a signature, with a key that is not its origin's, or with a
 * signature that does not verify over its fields is refused and counted; the
 * caller drops it, keeps the rest, and reports the peer that sent it.
 *
 * Ed25519 verification costs tens of microseconds, and a relayed version
 * reaches a node from several peers: verdicts that passed are cached in a
 * bounded LRU keyed by the signature, holding a sha256 of the exact signed
 * text and key it was checked against. A hit needs both to match, so a valid
 * signature pasted onto altered fields is checked again (and fails). Public
 * key objects are cached per origin key, also bounded.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Version } from '../../consensus/types.js';
import { versionSigningText } from '../../consensus/version-bytes.js';
import { VERSION_REFUSALS, checkVersionSignature, ed25519PublicKey, type VersionRefusal } from '../../identity/version-signature.js';

/**
 * Verdicts kept: one entry is ~250 bytes (an 86-character signature, a
 * 64-character digest, the LRU's links), so the cache stays under ~8 MiB. A
 * relayed version reaches a node within a few gossip rounds of the first
 * copy, far fewer than this many versions later.
 */
export const VERIFIED_SIGNATURE_CACHE = 32_768;

export interface RefusedVersion {
  readonly version: Version;
  readonly reason: VersionRefusal;
}

export interface VerifierStats {
  /** signatures checked by Ed25519 (cache misses) */
  verified: number;
  /** versions accepted from the cache without a new check */
  cacheHits: number;
  refused: Record<VersionRefusal, number>;
}

export class VersionVerifier {
  private readonly passed: LRUCache<string, string>;
  private readonly keys: LRUCache<string, KeyObject>;
  readonly stats: VerifierStats = { verified: 0, cacheHits: 0, refused: Object.fromEntries(VERSION_REFUSALS.map((r) => [r, 0])) as Record<VersionRefusal, number> };

  constructor(cacheEntries = VERIFIED_SIGNATURE_CACHE) {
    this.passed = new LRUCache({ max: cacheEntries });
    this.keys = new LRUCache({ max: Math.max(16, Math.min(cacheEntries, 4096)) });
  }

  /** Why `v` is refused, or undefined when its origin signed it as it is. */
  check(v: Version): VersionRefusal | undefined {
    const reason = this.verdict(v);
    if (reason !== undefined) this.stats.refused[reason]++;
    return reason;
  }

  private verdict(v: Version): VersionRefusal | undefined {
    if (v.signature === undefined || v.originKey === undefined) return 'unsigned';
    const signed = createHash('sha256').update(`${v.originKey}\n${versionSigningText(v)}`).digest('hex');
    if (this.passed.get(v.signature) === signed) {
      this.stats.cacheHits++;
      return undefined;
    }
    this.stats.verified++;
    const reason = checkVersionSignature(v, (k) => this.keyOf(k));
    if (reason === undefined) this.passed.set(v.signature, signed);
    return reason;
  }

  private keyOf(originKey: string): KeyObject {
    let key = this.keys.get(originKey);
    if (key === undefined) {
      key = ed25519PublicKey(originKey);
      this.keys.set(originKey, key);
    }
    return key;
  }

  /** Splits `versions` into those that verify and those refused (with why), in order. */
  filter(versions: readonly Version[]): { kept: Version[]; refused: RefusedVersion[] } {
    const kept: Version[] = [];
    const refused: RefusedVersion[] = [];
    for (const version of versions) {
      const reason = this.check(version);
      if (reason === undefined) kept.push(version);
      else refused.push({ version, reason });
    }
    return { kept, refused };
  }

  /** Verdicts held in the cache now (for tests and /metrics). */
  get cached(): number {
    return this.passed.size;
  }
}
