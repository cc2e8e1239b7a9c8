/**
 * Membership's merge rules and lifecycle, one node at a time, the test
 * playing every peer: seeds, SWIM precedence, refutation, full syncs, leave,
 * dead retries, reaping, bounds, the PeerSampler view.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MembershipHarness } from '../../helpers/membership-harness.js';
import { LIMITS, type MemberUpdate } from '../../../src/gossip/core/messages.js';
import type { MemberState } from '../../../src/gossip/core/types.js';

describe('seeds', () => {
  it('adds unknown seeds as alive@0, skips itself, and pushes-pulls with up to joinFanout of them', () => {
    const h = new MembershipHarness({ joinFanout: 2 });
    h.membership.addSeeds([h.self, ...h.peers]);
    expect(h.membership.members().map((m) => [m.id, m.state, m.incarnation])).toEqual(h.peers.map((p) => [p.id, 'alive', 0]));
    expect(h.changes.map((c) => c.state)).toEqual(h.peers.map(() => 'alive'));
    h.advance(h.options.tickMs);
    const syncs = h.sentOf('members').filter((s) => s.message.reply);
    expect(syncs).toHaveLength(2);
    expect(syncs[0]!.message.members[0]).toEqual({ ...h.self, incarnation: 0, state: 'alive' });
  });

  it('leaves known members untouched', () => {
    const h = new MembershipHarness();
    h.know(1);
    h.receive(h.peer(1), { type: 'members', members: [], reply: false }, [h.claim(h.peer(0), 'left', 3)]);
    h.membership.addSeeds([h.peer(0)]);
    expect(h.stateOf(h.peer(0))).toMatchObject({ state: 'left', incarnation: 3 });
  });

  it('never adds a member just because it sent a message', () => {
    const h = new MembershipHarness();
    h.know(1);
    h.receive(h.peer(3), { type: 'ack', seq: 1 });
    h.receive(h.peer(3), { type: 'members', members: [], reply: false });
    expect(h.stateOf(h.peer(3))).toBeUndefined();
    // ...but a claim it carries about itself does
    h.receive(h.peer(3), { type: 'ack', seq: 2 }, [h.claim(h.peer(3), 'alive', 1)]);
    expect(h.stateOf(h.peer(3))).toMatchObject({ state: 'alive', incarnation: 1 });
    expect(h.stateOf(h.peer(3))?.lastContact).toBe(h.clock.now());
  });
});

describe('SWIM precedence through gossip', () => {
  function after(claims: MemberUpdate[]): { state: MemberState; incarnation: number } | undefined {
    const h = new MembershipHarness();
    h.know(2);
    for (const c of claims) h.receive(h.peer(1), { type: 'ack', seq: 0 }, [c]);
    const r = h.stateOf(h.peer(0));
    return r === undefined ? undefined : { state: r.state, incarnation: r.incarnation };
  }
  const h0 = new MembershipHarness();
  const c = (state: MemberState, inc: number) => h0.claim(h0.peer(0), state, inc);

  it.each([
    ['suspect@0 over alive@0', [c('suspect', 0)], 'suspect', 0],
    ['alive@0 does not clear suspect@0', [c('suspect', 0), c('alive', 0)], 'suspect', 0],
    ['alive@1 clears suspect@0', [c('suspect', 0), c('alive', 1)], 'alive', 1],
    ['stale suspect@0 after alive@1', [c('alive', 1), c('suspect', 0)], 'alive', 1],
    ['dead@1 over suspect@1', [c('suspect', 1), c('dead', 1)], 'dead', 1],
    ['suspect@1 does not undo dead@1', [c('dead', 1), c('suspect', 1)], 'dead', 1],
    ['alive@2 revives dead@1', [c('dead', 1), c('alive', 2)], 'alive', 2],
    ['left is final at its incarnation', [c('left', 2), c('alive', 2), c('suspect', 2), c('dead', 2)], 'left', 2],
    ['left over dead at the same incarnation', [c('dead', 2), c('left', 2)], 'left', 2],
    ['a restart with a higher incarnation ends left', [c('left', 2), c('alive', 3)], 'alive', 3],
  ] as const)('%s', (_name, claims, state, incarnation) => {
    expect(after([...claims])).toEqual({ state, incarnation });
  });

  it('ignores suspect, dead and left claims about members it never heard of', () => {
    const h = new MembershipHarness();
    h.know(1);
    h.receive(h.peer(0), { type: 'ack', seq: 0 }, [h.claim(h.peer(2), 'suspect'), h.claim(h.peer(3), 'dead'), h.claim(h.peer(4), 'left')]);
    expect(h.membership.members()).toHaveLength(1);
  });

  it('reaches the same state whatever the order and duplication of the claims (property)', () => {
    const claim = fc.record({ incarnation: fc.integer({ min: 0, max: 3 }), state: fc.constantFrom<MemberState>('alive', 'suspect', 'dead', 'left') });
    fc.assert(
      fc.property(fc.array(claim, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 16 }), (claims, picks) => {
        const updates = claims.map((x) => c(x.state, x.incarnation));
        // another delivery: duplicated and reordered
        const replayed = [...updates, ...picks.map((i) => updates[i % updates.length] as MemberUpdate)].reverse();
        expect(after(replayed)).toEqual(after(updates));
      }),
      { numRuns: 60 },
    );
  });

  it('re-gossips only news: a duplicate claim queues nothing', () => {
    const h = new MembershipHarness();
    h.know(2);
    h.drainPiggyback();
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'suspect', 0, h.peer(1).id)]);
    expect(h.drainPiggyback()).toEqual([h.claim(h.peer(0), 'suspect', 0, h.peer(1).id)]);
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'suspect', 0, h.peer(1).id)]);
    expect(h.membership.piggyback()).toBeUndefined();
  });
});

describe('suspicion', () => {
  it('declares a suspect dead after the maximum timeout when nobody confirms, sooner with confirmations', () => {
    const timeToDeath = (confirmers: number) => {
      const h = new MembershipHarness({ suspicionMult: 4, suspicionMaxTimeoutMult: 6 }, { peers: 6 });
      h.know();
      const start = h.clock.now();
      h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'suspect', 0, h.peer(1).id)]);
      for (let i = 0; i < confirmers; i++) h.receive(h.peer(2 + i), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'suspect', 0, h.peer(2 + i).id)]);
      // peer 0 answers this node's probes, so this node adds no confirmation of its own
      h.answering = (to) => to.id === h.peer(0).id;
      h.advanceUntil(() => h.stateOf(h.peer(0))?.state === 'dead');
      return h.clock.now() - start;
    };
    // N = 7: min = 4 · ceil(log10 8) · 500 = 2000 ms, max = 12000 ms, k = 2
    const none = timeToDeath(0);
    const one = timeToDeath(1);
    const two = timeToDeath(2);
    expect(none).toBeGreaterThanOrEqual(12_000);
    expect(none).toBeLessThanOrEqual(12_050);
    // 12000 − 10000 · log 2 / log 3
    expect(one).toBeGreaterThanOrEqual(5_690);
    expect(one).toBeLessThanOrEqual(5_740);
    expect(two).toBeGreaterThanOrEqual(2_000);
    expect(two).toBeLessThanOrEqual(2_050);
  });

  it('counts the same accuser once even when relayed by many nodes', () => {
    const h = new MembershipHarness({ suspicionMult: 4, suspicionMaxTimeoutMult: 6 }, { peers: 6 });
    h.know();
    const start = h.clock.now();
    for (let i = 1; i < 6; i++) h.receive(h.peer(i), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'suspect', 0, h.peer(1).id)]);
    h.answering = (to) => to.id === h.peer(0).id;
    h.advanceUntil(() => h.stateOf(h.peer(0))?.state === 'dead');
    expect(h.clock.now() - start).toBeGreaterThanOrEqual(12_000);
  });
});

describe('refutation', () => {
  it('raises its incarnation above a suspicion about itself and gossips alive', () => {
    const h = new MembershipHarness();
    h.know(2);
    h.drainPiggyback();
    h.receive(h.peer(0), { type: 'ping', seq: 1 }, [h.claim(h.self, 'suspect', 0, h.peer(0).id)]);
    expect(h.membership.incarnation).toBe(1);
    expect(h.membership.stats.refutations).toBe(1);
    expect(h.membership.health).toBe(1);
    expect(h.drainPiggyback()).toContainEqual(h.claim(h.self, 'alive', 1));
  });

  it.each(['dead', 'left'] as const)('refutes a %s claim about itself the same way', (state) => {
    const h = new MembershipHarness();
    h.know(1);
    h.receive(h.peer(0), { type: 'members', members: [h.claim(h.self, state, 4)], reply: false });
    expect(h.membership.incarnation).toBe(5);
  });

  it('answers a stale claim by re-announcing alive without raising its incarnation', () => {
    const h = new MembershipHarness();
    h.know(1);
    h.receive(h.peer(0), { type: 'ack', seq: 0 }, [h.claim(h.self, 'suspect', 0)]);
    h.drainPiggyback();
    h.receive(h.peer(0), { type: 'ack', seq: 0 }, [h.claim(h.self, 'dead', 0)]);
    expect(h.membership.incarnation).toBe(1);
    expect(h.drainPiggyback()).toEqual([h.claim(h.self, 'alive', 1)]);
  });

  it('carries on from its own alive claim after a restart', () => {
    const h = new MembershipHarness();
    h.know(1);
    h.receive(h.peer(0), { type: 'members', members: [h.claim(h.self, 'alive', 7)], reply: false });
    expect(h.membership.incarnation).toBe(7);
  });
});

describe('full sync (push-pull)', () => {
  it('pushes-pulls with one random live peer, often right after start, then every interval', () => {
    const h = new MembershipHarness({}, { peers: 5 });
    h.know();
    h.answering = () => true;
    h.advance(h.options.tickMs);
    h.take();
    h.advance(6 * h.options.pushPullIntervalMs);
    const syncs = h.sentOf('members').filter((s) => s.message.reply);
    const gaps = syncs.slice(1).map((s, i) => s.at - syncs[i]!.at);
    // one probe interval, doubling up to pushPullIntervalMs (500, 1000, 2000, 4000, 5000, 5000...)
    const p = h.options.probeIntervalMs;
    expect(gaps.slice(0, 5)).toEqual([2 * p, 4 * p, 8 * p, h.options.pushPullIntervalMs, h.options.pushPullIntervalMs]);
    expect(syncs[0]!.message.members).toHaveLength(6);
    expect(new Set(syncs.map((s) => s.to.id)).size).toBeGreaterThan(1);
  });

  it('answers a sync asking for a reply with its own table, self first', () => {
    const h = new MembershipHarness();
    h.know(2);
    h.receive(h.peer(3), { type: 'members', members: [h.claim(h.peer(3), 'alive', 2)], reply: true });
    const [reply] = h.sentOf('members');
    expect(reply?.to.id).toBe(h.peer(3).id);
    expect(reply?.message.reply).toBe(false);
    expect(reply?.message.members.map((m) => [m.id, m.state])).toEqual([
      [h.self.id, 'alive'],
      [h.peer(0).id, 'alive'],
      [h.peer(1).id, 'alive'],
      [h.peer(3).id, 'alive'],
    ]);
  });

  it('takes a remote dead only as suspect, and keeps left as left', () => {
    const h = new MembershipHarness();
    h.know(2);
    h.receive(h.peer(2), { type: 'members', members: [h.claim(h.peer(0), 'dead', 0), h.claim(h.peer(1), 'left', 0)], reply: false });
    expect(h.stateOf(h.peer(0))?.state).toBe('suspect');
    expect(h.stateOf(h.peer(1))?.state).toBe('left');
  });

  it('never sends more than LIMITS.maxMembers entries', () => {
    const h = new MembershipHarness({}, { peers: 3 });
    h.know();
    h.receive(h.peer(0), { type: 'members', members: [], reply: true });
    expect(h.sentOf('members')[0]!.message.members.length).toBeLessThanOrEqual(LIMITS.maxMembers);
  });
});

describe('leave', () => {
  it('marks itself left at a new incarnation, tells leaveFanout peers and gossips it', () => {
    const h = new MembershipHarness({ leaveFanout: 2 });
    h.know();
    h.drainPiggyback();
    h.membership.leave();
    expect(h.membership.incarnation).toBe(1);
    const leaves = h.sentOf('leave');
    expect(leaves).toHaveLength(2);
    expect(leaves[0]!.message.incarnation).toBe(1);
    expect(h.drainPiggyback()).toEqual([h.claim(h.self, 'left', 1)]);
  });

  it('stops probing and does not refute any more', () => {
    const h = new MembershipHarness();
    h.know();
    h.membership.leave();
    h.take();
    h.advance(5 * h.options.probeIntervalMs);
    expect(h.sentOf('ping')).toHaveLength(0);
    h.receive(h.peer(0), { type: 'ack', seq: 0 }, [h.claim(h.self, 'dead', 1)]);
    expect(h.membership.incarnation).toBe(1);
  });

  it('marks a peer that says it leaves as left', () => {
    const h = new MembershipHarness();
    h.know(2);
    h.receive(h.peer(1), { type: 'leave', incarnation: 3 });
    expect(h.stateOf(h.peer(1))).toMatchObject({ state: 'left', incarnation: 3 });
    expect(h.membership.peer(h.peer(1).id)).toBeUndefined();
  });

  it('answers a member that left and came back at a new address there, so it refutes and is readmitted (a restarted container)', () => {
    const h = new MembershipHarness();
    h.know(2);
    h.receive(h.peer(1), { type: 'leave', incarnation: 1 });
    h.take();
    // restarted with a new container IP: its messages, verified, come from the new address
    const moved = { ...h.peer(1), address: '10.9.9.9:7000' };
    h.receive(moved, { type: 'members', members: [h.claim(moved, 'alive', 0)], reply: true });
    h.receive(moved, { type: 'ping', seq: 7 });
    const sent = h.take();
    expect(sent.map((s) => [s.message.type, s.to.address])).toEqual([['members', moved.address], ['ack', moved.address]]);
    const sync = sent[0]!.message as { members: MemberUpdate[] };
    expect(sync.members.find((m) => m.id === moved.id)).toMatchObject({ state: 'left', incarnation: 1 });
    // it hears it left at 1, refutes at 2 from its new address: alive there
    h.receive(moved, { type: 'ack', seq: 0 }, [h.claim(moved, 'alive', 2)]);
    expect(h.stateOf(h.peer(1))).toMatchObject({ state: 'alive', incarnation: 2, address: moved.address });
  });
});

describe('dead members', () => {
  it('pings a dead member with growing, capped backoff, carrying the claim it is dead', () => {
    const h = new MembershipHarness({ deadRetryBaseMs: 500, deadRetryMaxMs: 4_000 });
    h.know(2);
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'dead', 0, h.peer(1).id)]);
    h.take();
    h.advance(40_000);
    const retries = h.sentOf('ping').filter((s) => s.to.id === h.peer(0).id);
    expect(retries.length).toBeGreaterThan(8);
    for (const r of retries) expect(r.message.updates?.[0]).toMatchObject({ id: h.peer(0).id, state: 'dead', incarnation: 0 });
    const gaps = retries.slice(1).map((r, i) => r.at - (retries[i] as { at: number }).at);
    // base · 2^attempt ± 25%, capped at 4 s ± 25%
    expect(gaps[0]).toBeGreaterThanOrEqual(750 - 50);
    expect(gaps[0]).toBeLessThanOrEqual(1_250 + 50);
    for (const g of gaps.slice(3)) {
      expect(g).toBeGreaterThanOrEqual(3_000);
      expect(g).toBeLessThanOrEqual(5_050);
    }
  });

  it('retries at once when a dead member talks to it, and syncs with a member that comes back', () => {
    const h = new MembershipHarness({ deadRetryBaseMs: 500, deadRetryMaxMs: 60_000, reapAfterMs: 600_000 });
    h.know(2);
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'dead', 0, h.peer(1).id)]);
    h.advance(20_000);
    h.take();
    h.receive(h.peer(0), { type: 'members', members: [], reply: false });
    h.advance(h.options.tickMs);
    expect(h.sentOf('ping').map((s) => s.to.id)).toContain(h.peer(0).id);
    // it refutes on the ack; this node marks it alive and pushes-pulls with it
    h.take();
    h.receive(h.peer(0), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'alive', 1)]);
    expect(h.stateOf(h.peer(0))).toMatchObject({ state: 'alive', incarnation: 1 });
    expect(h.sentOf('members').filter((s) => s.to.id === h.peer(0).id && s.message.reply)).toHaveLength(1);
  });

  it('forgets dead and left members after reapAfterMs', () => {
    const h = new MembershipHarness({ reapAfterMs: 10_000 });
    h.know(3);
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'dead', 0)]);
    h.receive(h.peer(2), { type: 'leave', incarnation: 0 });
    h.advance(9_000);
    expect(h.membership.members()).toHaveLength(3);
    h.advance(2_000);
    expect(h.membership.members().map((m) => m.id)).toEqual([h.peer(1).id]);
  });
});

describe('bounds', () => {
  it('keeps at most maxMembers, evicting the longest-dead first', () => {
    const h = new MembershipHarness({ maxMembers: 3 }, { peers: 5 });
    h.know(3);
    h.membership.addSeeds([h.peer(3)]);
    expect(h.membership.members()).toHaveLength(3);
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'dead', 0)]);
    h.membership.addSeeds([h.peer(3)]);
    expect(h.membership.members().map((m) => m.id).sort()).toEqual([h.peer(1).id, h.peer(2).id, h.peer(3).id].sort());
  });

  it('piggybacks at most the message limit, and nothing when it has nothing', () => {
    const h = new MembershipHarness({}, { peers: 40 });
    for (const p of h.peers) h.receive(h.peers[0]!, { type: 'ack', seq: 0 }, [h.claim(p, 'alive', 1)]);
    expect(h.membership.piggyback()?.length).toBe(LIMITS.maxPiggybackUpdates);
    expect(h.membership.piggyback(3)?.length).toBe(3);
    h.drainPiggyback();
    expect(h.membership.piggyback()).toBeUndefined();
  });
});

describe('peer sampling and views', () => {
  it('samples only live peers, never itself or the excluded, and reports live size', () => {
    const h = new MembershipHarness({}, { peers: 6 });
    h.know();
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'dead', 0), h.claim(h.peer(2), 'suspect', 0)]);
    expect(h.membership.size()).toBe(5);
    const got = h.membership.sample(10, new Set([h.peer(3).id]));
    expect(got.map((p) => p.id).sort()).toEqual([1, 2, 4, 5].map((i) => h.peer(i).id).sort());
    expect(h.membership.peer(h.peer(2).id)).toEqual(h.peer(2));
    expect(h.membership.peer(h.peer(0).id)).toBeUndefined();
    expect(h.membership.peer(h.self.id)).toBeUndefined();
  });

  it('snapshots the live peers, or the dead ones when none is live', () => {
    const h = new MembershipHarness({}, { peers: 3 });
    h.know();
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(0), 'dead', 0), h.claim(h.peer(2), 'left', 0)]);
    expect(h.membership.snapshot()).toEqual([h.peer(1)]);
    h.receive(h.peer(1), { type: 'ack', seq: 0 }, [h.claim(h.peer(1), 'dead', 0)]);
    expect(h.membership.snapshot().map((p) => p.id).sort()).toEqual([h.peer(0).id, h.peer(1).id].sort());
  });
});
