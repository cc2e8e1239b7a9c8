import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BroadcastQueue, retransmitLimit } from '../../../src/gossip/core/broadcast-queue.js';
import type { MemberUpdate } from '../../../src/gossip/core/messages.js';

const key = 'A'.repeat(43);
function update(n: number, incarnation = 0, state: MemberUpdate['state'] = 'alive'): MemberUpdate {
  return { id: `n${n.toString(16).padStart(16, '0')}`, address: `10.0.0.${n}:7000`, publicKey: key, incarnation, state };
}

describe('retransmitLimit', () => {
  it('is retransmitMult × ceil(log10(N+1))', () => {
    expect(retransmitLimit(4, 1)).toBe(4);
    expect(retransmitLimit(4, 9)).toBe(4);
    expect(retransmitLimit(4, 10)).toBe(8);
    expect(retransmitLimit(4, 100)).toBe(12);
    expect(retransmitLimit(4, 1_000)).toBe(16);
    expect(retransmitLimit(3, 10_000)).toBe(15);
  });
});

describe('BroadcastQueue', () => {
  it('sends each update exactly the retransmit limit times, then drops it', () => {
    const q = new BroadcastQueue(2, 100);
    q.push(update(1));
    const limit = retransmitLimit(2, 10); // 4
    for (let i = 0; i < limit; i++) expect(q.take(32, 10)).toEqual([update(1)]);
    expect(q.take(32, 10)).toEqual([]);
    expect(q.size).toBe(0);
  });

  it('replaces a queued update about the same member and restarts its count', () => {
    const q = new BroadcastQueue(1, 100);
    q.push(update(1, 0, 'alive'));
    q.push(update(2));
    q.push(update(1, 0, 'suspect'));
    expect(q.size).toBe(2);
    expect(q.peek(update(1).id)?.state).toBe('suspect');
    q.take(32, 1); // limit 1: both sent once and gone
    expect(q.size).toBe(0);
    q.push(update(3));
    q.take(1, 1);
    q.push(update(3, 1, 'alive'));
    expect(q.take(32, 1)).toEqual([update(3, 1, 'alive')]);
  });

  it('sends the least-sent first and, among equals, the newest first', () => {
    const q = new BroadcastQueue(10, 100);
    for (let i = 1; i <= 4; i++) q.push(update(i));
    expect(q.take(2, 5).map((u) => u.address)).toEqual(['10.0.0.4:7000', '10.0.0.3:7000']);
    expect(q.take(2, 5).map((u) => u.address)).toEqual(['10.0.0.2:7000', '10.0.0.1:7000']);
    q.push(update(5));
    expect(q.take(1, 5).map((u) => u.address)).toEqual(['10.0.0.5:7000']);
  });

  it('is bounded: past maxSize the most-sent update is dropped', () => {
    const q = new BroadcastQueue(10, 3);
    q.push(update(1));
    q.push(update(2));
    q.take(1, 5); // update 2 sent once
    q.push(update(3));
    q.push(update(4));
    expect(q.size).toBe(3);
    expect(q.peek(update(2).id)).toBeUndefined();
    expect(q.dropped).toBe(1);
  });

  it('takes nothing when asked for nothing, and forgets a removed member', () => {
    const q = new BroadcastQueue(3, 10);
    q.push(update(1));
    expect(q.take(0, 5)).toEqual([]);
    q.remove(update(1).id);
    expect(q.take(32, 5)).toEqual([]);
  });

  it('matches its definition (sort everything, take the least-sent, newest first) under any sequence of operations', () => {
    /** The definition, written the slow way: one sort of the whole queue per take. */
    class Model {
      entries: { update: MemberUpdate; transmits: number; order: number }[] = [];
      order = 0;
      constructor(readonly mult: number, readonly maxSize: number) {}
      push(u: MemberUpdate): void {
        this.entries = this.entries.filter((e) => e.update.id !== u.id);
        this.entries.push({ update: u, transmits: 0, order: this.order++ });
        if (this.entries.length > this.maxSize) {
          const worst = this.entries.reduce((w, e) => (e.transmits > w.transmits || (e.transmits === w.transmits && e.order < w.order) ? e : w));
          this.entries = this.entries.filter((e) => e !== worst);
        }
      }
      remove(id: string): void {
        this.entries = this.entries.filter((e) => e.update.id !== id);
      }
      take(max: number, n: number): MemberUpdate[] {
        const chosen = [...this.entries].sort((a, b) => a.transmits - b.transmits || b.order - a.order).slice(0, max);
        const limit = retransmitLimit(this.mult, n);
        for (const e of chosen) e.transmits++;
        this.entries = this.entries.filter((e) => !chosen.includes(e) || e.transmits < limit);
        return chosen.map((e) => e.update);
      }
    }
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), member: fc.nat(40), incarnation: fc.nat(5) }),
      fc.record({ kind: fc.constant('take' as const), max: fc.nat(12), n: fc.integer({ min: 1, max: 2_000 }) }),
      fc.record({ kind: fc.constant('remove' as const), member: fc.nat(40) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 30 }), fc.array(op, { maxLength: 400 }), (mult, maxSize, ops) => {
        const q = new BroadcastQueue(mult, maxSize);
        const model = new Model(mult, maxSize);
        for (const o of ops) {
          if (o.kind === 'push') {
            q.push(update(o.member, o.incarnation));
            model.push(update(o.member, o.incarnation));
          } else if (o.kind === 'remove') {
            q.remove(update(o.member).id);
            model.remove(update(o.member).id);
          } else {
            expect(q.take(o.max, o.n)).toEqual(model.take(o.max, o.n));
          }
          expect(q.size).toBe(model.entries.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});

