/**
 * Which peers are known to hold which bodies, for body fetching and
 * read-through. A version's origin holds its body when it writes it, so it is
 * listed first; other holders come from the `held` list of the messages that
 * carried the version. Bounded: at most `maxBodies` bodies (least recently
 * touched evicted first) and `maxHoldersPerBody` holders each (the origin is
 * kept, the oldest other holder dropped). Forgetting costs a fetch from a
 * farther holder, or a read-through query.
 */
import type { NodeId } from './types.js';

interface Holders {
  origin: NodeId | undefined;
  /** other holders, oldest first */
  others: NodeId[];
}

export class BodyHolders {
  private readonly bodies = new Map<string, Holders>();

  constructor(
    private readonly maxBodies: number,
    private readonly maxHoldersPerBody: number,
  ) {}

  /** Records that `peer` holds body `sha256`; `origin` when it wrote the version. */
  add(sha256: string, peer: NodeId, origin = false): void {
    const h = this.touch(sha256);
    if (origin) {
      if (h.origin === peer) return;
      h.others = h.others.filter((p) => p !== peer);
      if (h.origin === undefined) h.origin = peer;
      else h.others.push(peer);
    } else if (h.origin !== peer && !h.others.includes(peer)) {
      h.others.push(peer);
    }
    const room = this.maxHoldersPerBody - (h.origin === undefined ? 0 : 1);
    if (h.others.length > room) h.others.splice(0, h.others.length - Math.max(room, 0));
  }

  /** Known holders of a body, origin first. */
  holders(sha256: string): NodeId[] {
    const h = this.bodies.get(sha256);
    if (h === undefined) return [];
    return h.origin === undefined ? [...h.others] : [h.origin, ...h.others];
  }

  /** Forgets a holder (e.g. it served a bad body, or said it no longer has it). */
  remove(sha256: string, peer: NodeId): void {
    const h = this.bodies.get(sha256);
    if (h === undefined) return;
    if (h.origin === peer) h.origin = undefined;
    h.others = h.others.filter((p) => p !== peer);
    if (h.origin === undefined && h.others.length === 0) this.bodies.delete(sha256);
  }

  /** Bodies remembered. */
  get size(): number {
    return this.bodies.size;
  }

  private touch(sha256: string): Holders {
    let h = this.bodies.get(sha256);
    if (h === undefined) {
      h = { origin: undefined, others: [] };
      if (this.bodies.size >= this.maxBodies) {
        const oldest = this.bodies.keys().next();
        if (oldest.done !== true) this.bodies.delete(oldest.value);
      }
    } else {
      this.bodies.delete(sha256);
    }
    this.bodies.set(sha256, h);
    return h;
  }
}
