/**
 * SWIM probing as one node does it, with the test playing its peers: round-
 * robin targets, direct ping, ping-req after the probe timeout, relayed acks,
 * nacks and the local health score, the buddy system, and relaying for others.
 */
import { describe, expect, it } from 'vitest';
import { MembershipHarness } from '../../helpers/membership-harness.js';

/** Runs `ms`, answering every ping from the membership at once with an ack from its target. */
function runAnswering(h: MembershipHarness, ms: number): void {
  h.answering = () => true;
  h.advance(ms);
  h.answering = undefined;
}

describe('probing', () => {
  it('pings every live member once per round, in a fresh order each round', () => {
    const h = new MembershipHarness({}, { peers: 6 });
    h.know();
    runAnswering(h, 6 * h.options.probeIntervalMs * 4);
    const targets = h.sentOf('ping').map((s) => s.to.id);
    expect(targets.length).toBeGreaterThanOrEqual(18);
    const rounds = [targets.slice(0, 6), targets.slice(6, 12), targets.slice(12, 18)];
    for (const round of rounds) expect(new Set(round)).toEqual(new Set(h.peers.map((p) => p.id)));
    expect(new Set(rounds.map((r) => r.join()))).not.toHaveLength(1);
    expect(h.sentOf('ping-req')).toHaveLength(0);
    expect(h.membership.health).toBe(0);
  });

  it('answers a ping with an ack carrying the same seq', () => {
    const h = new MembershipHarness();
    h.know();
    h.receive(h.peer(2), { type: 'ping', seq: 4242 });
    expect(h.sentOf('ack').map((s) => [s.to.id, s.message.seq])).toEqual([[h.peer(2).id, 4242]]);
  });

  it('does not answer a ping from a stranger it has no address for, and does not add it', () => {
    const h = new MembershipHarness();
    h.know(2);
    h.membership.handle({ v: 1, from: h.peer(4).id, type: 'ping', seq: 1 });
    expect(h.sentOf('ack')).toHaveLength(0);
    expect(h.stateOf(h.peer(4))).toBeUndefined();
    h.receive(h.peer(4), { type: 'ping', seq: 2 }); // the runtime vouches for the sender: answered, still not added
    expect(h.sentOf('ack')).toHaveLength(1);
    expect(h.stateOf(h.peer(4))).toBeUndefined();
  });

  it('asks indirectChecks other members to ping a target that missed its ack, and pings it once more, with the same seq', () => {
    const h = new MembershipHarness({}, { peers: 5 });
    h.know();
    h.advance(h.options.probeIntervalMs);
    const [ping] = h.sentOf('ping');
    expect(ping).toBeDefined();
    const { to: target, message, at } = ping!;
    h.advance(h.options.probeTimeoutMs);
    const reqs = h.sentOf('ping-req');
    expect(reqs).toHaveLength(h.options.indirectChecks);
    expect(new Set(reqs.map((r) => r.to.id)).size).toBe(h.options.indirectChecks);
    for (const r of reqs) {
      expect(r.to.id).not.toBe(target.id);
      expect(r.message.seq).toBe(message.seq);
      expect(r.message.target).toEqual(target);
      expect(r.at - at).toBeGreaterThanOrEqual(h.options.probeTimeoutMs);
      expect(r.at - at).toBeLessThanOrEqual(h.options.probeTimeoutMs + h.options.tickMs);
    }
    const again = h.sentOf('ping').filter((s) => s.message.seq === message.seq);
    expect(again.map((s) => [s.to.id, s.at])).toEqual([[target.id, at], [target.id, reqs[0]!.at]]);
  });

  it('takes an ack relayed by an indirect prober as success', () => {
    const h = new MembershipHarness({}, { peers: 5 });
    h.know();
    h.advanceUntil(() => h.sentOf('ping-req').length > 0);
    const target = h.sentOf('ping')[0]!.to;
    const [req] = h.sentOf('ping-req');
    h.receive(req!.to, { type: 'ack', seq: req!.message.seq });
    h.advance(h.options.probeTimeoutMs + h.options.tickMs);
    expect(h.stateOf(target)?.state).toBe('alive');
    expect(h.membership.probeStats.probesFailed).toBe(0);
    expect(h.membership.health).toBe(0);
  });

  it('ignores acks with another seq or from a peer not involved in the probe', () => {
    const h = new MembershipHarness({}, { peers: 5 });
    h.know();
    h.advance(h.options.probeIntervalMs);
    const [ping] = h.sentOf('ping');
    const bystander = h.peers.find((p) => p.id !== ping!.to.id)!;
    h.receive(ping!.to, { type: 'ack', seq: ping!.message.seq + 1 });
    h.receive(bystander, { type: 'ack', seq: ping!.message.seq });
    h.advance(2 * h.options.probeTimeoutMs + h.options.tickMs);
    expect(h.stateOf(ping!.to)?.state).toBe('suspect');
  });

  it('suspects a member that answers neither directly nor through anyone, and penalizes itself for missing nacks', () => {
    const h = new MembershipHarness({}, { peers: 5 });
    h.know();
    h.advance(h.options.probeIntervalMs);
    const target = h.sentOf('ping')[0]!.to;
    h.advance(2 * h.options.probeTimeoutMs + h.options.tickMs);
    const record = h.stateOf(target);
    expect(record?.state).toBe('suspect');
    expect(h.changes.at(-1)).toMatchObject({ id: target.id, state: 'suspect', incarnation: 0 });
    expect(h.membership.stats.suspicionsRaised).toBe(1);
    // two relays promised a nack and sent none: +2
    expect(h.membership.health).toBe(2);
    // the suspicion is gossiped, naming this node as the accuser
    h.advance(h.options.gossipIntervalMs);
    const claim = h.sent.flatMap((s) => s.message.updates ?? []).find((u) => u.id === target.id);
    expect(claim).toMatchObject({ state: 'suspect', incarnation: 0, by: h.self.id });
  });

  it('does not penalize itself when every relay sends its nack (the target, not this node, is unreachable)', () => {
    const h = new MembershipHarness({}, { peers: 5 });
    h.know();
    h.advanceUntil(() => h.sentOf('ping-req').length > 0);
    for (const r of h.sentOf('ping-req')) h.receive(r.to, { type: 'nack', seq: r.message.seq });
    h.advance(h.options.probeTimeoutMs + h.options.tickMs);
    expect(h.membership.stats.suspicionsRaised).toBe(1);
    expect(h.membership.health).toBe(0);
  });

  it('carries the suspect claim on its next ping to a suspect member (buddy system)', () => {
    const h = new MembershipHarness({}, { peers: 1 });
    h.know();
    h.advance(2 * h.options.probeIntervalMs);
    expect(h.stateOf(h.peer(0))?.state).toBe('suspect');
    h.take();
    h.advance(4 * h.options.probeIntervalMs);
    const [ping] = h.sentOf('ping');
    expect(ping?.message.updates?.[0]).toMatchObject({ id: h.peer(0).id, state: 'suspect', incarnation: 0 });
  });

  it('stretches its probe interval with its health score and recovers on success', () => {
    const h = new MembershipHarness({ awarenessMax: 4, suspicionMaxTimeoutMult: 10 }, { peers: 1 });
    h.know();
    h.advance(5_500);
    // the first ping of each probe (the second direct ping reuses the probe's seq)
    const seqs = new Set<number>();
    const times = h.sentOf('ping').filter((s) => !seqs.has(s.message.seq) && seqs.add(s.message.seq)).map((s) => s.at);
    const gaps = times.slice(1, 5).map((t, i) => t - (times[i] as number));
    expect(gaps).toEqual([500, 1_000, 1_500, 2_000]);
    expect(h.membership.health).toBe(3);
    runAnswering(h, 2_500);
    expect(h.membership.health).toBeLessThan(3);
  });
});

describe('relaying for others', () => {
  it('pings the target for the requester and relays its ack with the requester\'s seq', () => {
    const h = new MembershipHarness();
    h.know();
    h.receive(h.peer(0), { type: 'ping-req', seq: 77, target: h.peer(1) });
    const [ping] = h.sentOf('ping');
    expect(ping?.to.id).toBe(h.peer(1).id);
    h.take();
    h.receive(h.peer(1), { type: 'ack', seq: ping!.message.seq });
    expect(h.sentOf('ack').map((s) => [s.to.id, s.message.seq])).toEqual([[h.peer(0).id, 77]]);
    h.advance(h.options.probeTimeoutMs);
    expect(h.sentOf('nack')).toHaveLength(0);
  });

  it('sends a nack when the target stays silent, before the requester gives up', () => {
    const h = new MembershipHarness();
    h.know();
    const at = h.clock.now();
    h.receive(h.peer(0), { type: 'ping-req', seq: 78, target: h.peer(1) });
    h.advance(h.options.probeTimeoutMs);
    const nacks = h.sentOf('nack');
    expect(nacks.map((s) => [s.to.id, s.message.seq])).toEqual([[h.peer(0).id, 78]]);
    expect(nacks[0]!.at - at).toBeLessThan(h.options.probeTimeoutMs);
    // a late ack is not relayed any more
    h.take();
    h.receive(h.peer(1), { type: 'ack', seq: 0 });
    expect(h.sentOf('ack')).toHaveLength(0);
  });

  it('relays for a target it does not know, using the address in the request', () => {
    const h = new MembershipHarness();
    h.know(2);
    h.receive(h.peer(0), { type: 'ping-req', seq: 79, target: h.peer(4) });
    expect(h.sentOf('ping').map((s) => s.to)).toEqual([h.peer(4)]);
  });

  it('keeps at most maxRelays in flight', () => {
    const h = new MembershipHarness({ maxRelays: 2 });
    h.know();
    for (let i = 0; i < 4; i++) h.receive(h.peer(0), { type: 'ping-req', seq: 100 + i, target: h.peer(1 + (i % 3)) });
    expect(h.sentOf('ping')).toHaveLength(2);
  });
});
