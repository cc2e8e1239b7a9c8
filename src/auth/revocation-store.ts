/**
 * The revocations a node holds (issue 13): admin-signed JWS naming a token
 * id, each kept until the exp of the token it names, persisted in the data
 * dir (one JWS a line, `revocations.log`, fsynced before a revocation is
 * acknowledged or relayed), bounded (MAX_LIVE_REVOCATIONS: past it, new ones
 * are refused, not old ones dropped). Only revocations that verify against
 * the cluster's admin key get in; the file is this node's own (like its
 * metadata log), so its lines are read back by their claims, not re-verified.
 */
import type { KeyObject } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import type { Logger } from '../log.js';
import { revocationClaimsSchema } from './claims.js';
import { verifyRevocation } from './tokens.js';

export const REVOCATIONS_FILE = 'revocations.log';
export const MAX_LIVE_REVOCATIONS = 100_000;

export type AddResult = 'added' | 'known' | 'invalid' | 'full';

interface Entry {
  readonly exp: number;
  readonly jws: string;
}

export class RevocationStore {
  private readonly byTokenId = new Map<string, Entry>();
  /** writes one after the other, so lines never interleave and a rewrite never races an append */
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly publicKey: KeyObject,
    private readonly nowSec: () => number,
    private readonly logger: Logger,
    private readonly maxLive: number,
  ) {}

  static async open(dataDir: string, publicKey: KeyObject, logger: Logger, options: { nowSec?: () => number; maxLive?: number } = {}): Promise<RevocationStore> {
    const nowSec = options.nowSec ?? ((): number => Math.floor(Date.now() / 1000));
    const store = new RevocationStore(join(dataDir, REVOCATIONS_FILE), publicKey, nowSec, logger, options.maxLive ?? MAX_LIVE_REVOCATIONS);
    let text = '';
    try {
      text = await readFile(store.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const now = nowSec();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const claims = revocationClaimsSchema.parse(decodeJwt(line));
        if (claims.exp > now) store.byTokenId.set(claims.revokes, { exp: claims.exp, jws: line });
      } catch {
        // a torn last line from a crash mid-append: the revocation was never acknowledged
      }
    }
    return store;
  }

  get size(): number {
    return this.byTokenId.size;
  }

  /** Whether the token with this id is revoked (and not yet past its exp). */
  isRevoked(tokenId: string): boolean {
    const entry = this.byTokenId.get(tokenId);
    return entry !== undefined && entry.exp > this.nowSec();
  }

  /** The live revocations, as the signed strings gossip carries. */
  items(): string[] {
    const now = this.nowSec();
    const out: string[] = [];
    for (const entry of this.byTokenId.values()) if (entry.exp > now) out.push(entry.jws);
    return out;
  }

  /** Verifies `jws` against the admin key and keeps it, durably, unless it is known, invalid or the store is full. */
  async add(jws: string): Promise<AddResult> {
    // the periodic sync resends what peers hold: one already held, byte for byte, costs no signature check
    if (this.holds(jws)) return 'known';
    const claims = await verifyRevocation(jws, this.publicKey, this.nowSec());
    if (claims === undefined) return 'invalid';
    if (this.byTokenId.has(claims.revokes)) return 'known';
    if (this.byTokenId.size >= this.maxLive) {
      this.sweep();
      if (this.byTokenId.size >= this.maxLive) return 'full';
    }
    this.byTokenId.set(claims.revokes, { exp: claims.exp, jws });
    try {
      await this.serially(async () => {
        const fh = await open(this.file, 'a', 0o600);
        try {
          await fh.writeFile(`${jws}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
    } catch (err) {
      this.byTokenId.delete(claims.revokes);
      throw err;
    }
    return 'added';
  }

  /** Forgets revocations whose tokens have expired; rewrites the file when any went. Returns how many went. */
  async collect(): Promise<number> {
    const dropped = this.sweep();
    if (dropped > 0) {
      await this.serially(async () => {
        const tmp = `${this.file}.tmp`;
        const fh = await open(tmp, 'w', 0o600);
        try {
          await fh.writeFile([...this.byTokenId.values()].map((e) => `${e.jws}\n`).join(''));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, this.file);
      }).catch((err: unknown) => this.logger.warn({ err }, 'could not compact the revocations file'));
    }
    return dropped;
  }

  private holds(jws: string): boolean {
    try {
      const { revokes } = revocationClaimsSchema.parse(decodeJwt(jws));
      return this.byTokenId.get(revokes)?.jws === jws;
    } catch {
      return false;
    }
  }

  private sweep(): number {
    const now = this.nowSec();
    let dropped = 0;
    for (const [id, entry] of this.byTokenId) {
      if (entry.exp <= now) {
        this.byTokenId.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  private async serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.writing.then(work, work);
    this.writing = next.catch(() => undefined);
    return next;
  }
}
