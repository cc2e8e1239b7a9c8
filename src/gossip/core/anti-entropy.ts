/**
 * Anti-entropy sessions: push-pull over the hash tree (merkle-tree.ts).
 *
 * Both sides are stateless: every message is answered from the tree as it is
 * when the message arrives, so a session keeps no memory on either side and a
 * peer cannot make us hold any. `sid` only names the session (and salts the
 * packed child slices). A session:
 *
 *   A → B  ae-nodes  {nodes: [["", rootA]]}
 *   B: equal roots → nothing (idle cost: one ~100-byte message).
 *   B → A  ae-nodes  children of the root          (descent, alternating sides;
 *   A → B  ae-nodes  children of differing nodes    one level per message)
 *   …
 *   X → Y  ae-keys   when a differing node is a leaf bucket, or holds at most
 *                    `aeLeafKeys` keys on X's side: X's keys there with
 *                    digests and causal weights (versions.ts causalWeight)
 *   Y → X  versions  Y's sets for keys that X lacks, or whose digest differs
 *                    and whose weight on Y is not less than X's,
 *          ae-want   keys Y lacks, and differing keys that weigh less on Y
 *                    (Y's set is older than X's or concurrent: never newer,
 *                    so sending it would mostly be wasted)
 *   X → Y  versions  answers to ae-want; and either side answers a `versions`
 *                    message with its own set for keys where it holds versions
 *                    the sender lacks (dissemination.ts), so both end equal.
 *
 * A descent step is sent either as one [path, 64-bit hash] pair per non-empty
 * child (`nodes`, an absent child is empty) or packed (`children`): per
 * parent, 16 × 16-bit slices of the children's hashes salted by the session
 * id. Every reply is bounded (expansions, keys, wants); what does not fit
 * waits for the next session.
 */
import type { MessageOf } from './messages.js';
import { LIMITS } from './messages.js';
import { TREE_FANOUT, hashHex, parseHashHex, pathOf, sameHash, type Hash64, type MerkleTree } from './merkle-tree.js';
import type { Random } from './types.js';
import { fmix32 } from './mix.js';

export interface AntiEntropyOptions {
  readonly aeLeafKeys: number;
  readonly aePackedChildren: boolean;
  readonly aeMaxExpansions: number;
  readonly aeMaxVersionsPerReply: number;
}

type NodesBody = Omit<MessageOf<'ae-nodes'>, 'v' | 'from' | 'updates'>;
type KeysBody = Omit<MessageOf<'ae-keys'>, 'v' | 'from' | 'updates'>;

/** What to send back for one anti-entropy message. */
export interface AeReply {
  nodes?: NodesBody;
  keys?: KeysBody;
  /** keys whose sibling sets to send (as repair `versions`) */
  send: string[];
  /** keys to ask for (`ae-want`) */
  want: string[];
}

const SID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** FNV-1a of the session id: the salt of its packed slices. */
export function sessionSalt(sid: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sid.length; i++) h = Math.imul(h ^ sid.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The 16-bit slice of a node hash sent in a packed descent step. */
export function hashSlice(h: Hash64, salt: number): number {
  const a = fmix32((h.hi ^ salt) >>> 0);
  const b = fmix32((h.lo + a) >>> 0);
  return (b ^ (b >>> 16)) & 0xffff;
}

export class AntiEntropy {
  constructor(
    private readonly tree: MerkleTree,
    /** the causal weight of the set held for a key in the tree */
    private readonly weigh: (key: string) => number,
    private readonly random: Random,
    private readonly options: AntiEntropyOptions,
  ) {}

  /** A new session id (URL-safe, 10 characters). */
  newSessionId(): string {
    let sid = '';
    for (let i = 0; i < 10; i++) sid += SID_CHARS[Math.floor(this.random.next() * SID_CHARS.length)];
    return sid;
  }

  /** The opening message of a session: our root. */
  open(sid: string): NodesBody {
    return { type: 'ae-nodes', sid, nodes: [['', hashHex(this.tree.hash(''))]] };
  }

  /** Compares the peer's hashes with ours and descends where they differ. */
  onNodes(msg: MessageOf<'ae-nodes'>): AeReply {
    const differing = new Set<string>();
    const groups = new Map<string, Set<string>>(); // parent → children listed in `nodes`
    for (const [path, hex] of msg.nodes) {
      const theirs = parseHashHex(hex);
      if (theirs === undefined || !this.tree.isPath(path)) continue;
      if (!sameHash(theirs, this.tree.hash(path))) differing.add(path);
      if (path.length > 0) {
        const parent = path.slice(0, -1);
        let listed = groups.get(parent);
        if (listed === undefined) groups.set(parent, (listed = new Set()));
        listed.add(path);
      }
    }
    // in `nodes`, an expansion lists every non-empty child: an absent one is empty there
    for (const [parent, listed] of groups) {
      this.tree.children(parent).forEach((h, c) => {
        const path = parent + c.toString(16);
        if (!listed.has(path) && !sameHash(h, { hi: 0, lo: 0 })) differing.add(path);
      });
    }
    const salt = sessionSalt(msg.sid);
    for (const [parent, packed] of msg.children ?? []) {
      if (!this.tree.isPath(parent) || parent.length >= this.tree.depth || packed.length !== 4 * TREE_FANOUT) continue;
      this.tree.children(parent).forEach((h, c) => {
        if (parseInt(packed.slice(4 * c, 4 * c + 4), 16) !== hashSlice(h, salt)) differing.add(parent + c.toString(16));
      });
    }
    return this.descend(msg.sid, [...differing]);
  }

  /** Compares the peer's key digests with ours: what to send it, what to ask for. */
  onKeys(msg: MessageOf<'ae-keys'>): AeReply {
    const send = new Set<string>();
    const want: string[] = [];
    const listed = new Set<string>();
    for (const [key, hex, weight] of msg.keys) {
      listed.add(key);
      const mine = this.tree.digest(key);
      if (mine === undefined) {
        if (want.length < LIMITS.maxAeWant) want.push(key);
      } else if (hashHex(mine) !== hex) {
        if (weight !== undefined && this.weigh(key) < weight && want.length < LIMITS.maxAeWant) want.push(key);
        else if (send.size < this.options.aeMaxVersionsPerReply) send.add(key);
      }
    }
    // the buckets are listed in full: what we hold there and the peer did not list, it lacks
    for (const bucket of msg.buckets) {
      if (!this.tree.isPath(bucket)) continue;
      const budget = this.options.aeMaxVersionsPerReply - send.size;
      if (budget <= 0) break;
      for (const key of this.tree.keysUnder(bucket, budget + listed.size)) {
        if (send.size >= this.options.aeMaxVersionsPerReply) break;
        if (!listed.has(key)) send.add(key);
      }
    }
    return { send: [...send], want };
  }

  /** Keys asked for that we hold. */
  onWant(msg: MessageOf<'ae-want'>): string[] {
    return msg.keys.filter((key) => this.tree.has(key)).slice(0, this.options.aeMaxVersionsPerReply);
  }

  /**
   * For each differing node: list our keys there when it is a leaf or small
   * on our side (`ae-keys`), else send its children (`ae-nodes`). Visited in
   * random order so that, when the budgets cut, sessions cover different parts.
   */
  private descend(sid: string, differing: string[]): AeReply {
    shuffle(differing, this.random);
    const nodes: [string, string][] = [];
    const children: [string, string][] = [];
    const buckets: string[] = [];
    const keys: [string, string, number][] = [];
    const salt = sessionSalt(sid);
    let expansions = 0;
    for (const path of differing) {
      const count = this.tree.count(path);
      const leaf = path.length >= this.tree.depth;
      if (leaf || count <= this.options.aeLeafKeys) {
        if (keys.length + count <= LIMITS.maxAeKeys && buckets.length < LIMITS.maxAeNodes) {
          buckets.push(path);
          for (const key of this.tree.keysUnder(path)) keys.push([key, hashHex(this.tree.digest(key) as Hash64), this.weigh(key)]);
          continue;
        }
        if (leaf) continue; // a bucket too big for one message: nothing finer to offer
      }
      if (expansions >= this.options.aeMaxExpansions) continue;
      expansions++;
      const hashes = this.tree.children(path);
      if (this.options.aePackedChildren) {
        children.push([path, hashes.map((h) => hashSlice(h, salt).toString(16).padStart(4, '0')).join('')]);
      } else {
        hashes.forEach((h, c) => {
          if (h.hi !== 0 || h.lo !== 0) nodes.push([path + pathOf(c, 1), hashHex(h)]);
        });
      }
    }
    const reply: AeReply = { send: [], want: [] };
    if (nodes.length > 0 || children.length > 0) {
      reply.nodes = { type: 'ae-nodes', sid, nodes, ...(children.length > 0 ? { children } : {}) };
    }
    if (buckets.length > 0) reply.keys = { type: 'ae-keys', sid, buckets, keys };
    return reply;
  }
}

/** Fisher–Yates with the injected random source. */
function shuffle<T>(items: T[], random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
