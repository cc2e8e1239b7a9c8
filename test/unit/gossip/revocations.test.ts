/**
 * Revocation gossip in the protocol core (src/gossip/core/revocations.ts),
 * pure: a new revocation is pushed to `fanout` peers for `rounds` ticks; the
 * periodic sync sends pages of every revocation held, rotating; only what
 * the shell admits as new is relayed; a node without hooks sends nothing;
 * the message schema bounds count and size.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS, parseGossipMessage, PROTOCOL_VERSION, type GossipMessage, type MessageOf } from '../../../src/gossip/core/messages.js';
import { RevocationGossip, type RevocationHooks } from '../../../src/gossip/core/revocations.js';
import type { PeerInfo } from '../../../src/gossip/core/types.js';
import { silentLogger } from '../../../src/log.js';
import { SeededRandom } from '../../../tools/sim/seeded-random.js';
import { StaticPeers } from '../../../tools/sim/static-peers.js';
import { VirtualClock } from '../../../tools/sim/virtual-clock.js';
import { nodeIdOf } from '../../helpers/data-plane-sim.js';

const jws = (n: number): string => `eyJhbGciOiJFZERTQSJ9.eyJyZXZva2VzIjoi${n}In0.c2ln${n}`;

function setup(peers: number, hooks: RevocationHooks | undefined) {
  const infos: PeerInfo[] = Array.from({ length: peers + 1 }, (_, i) => ({ id: nodeIdOf(i), address: `127.0.0.1:${20_000 + i}`, publicKey: 'A'.repeat(43) }));
  const self = infos[0] as PeerInfo;
  const clock = new VirtualClock();
  const random = new SeededRandom(11);
  const sent: { to: string; message: GossipMessage }[] = [];
  const gossip = new RevocationGossip(
    { self, transport: { send: (to, message) => sent.push({ to: to.id, message }) }, clock, random, logger: silentLogger() },
    new StaticPeers(self.id, infos, random.fork()),
    hooks,
    { fanout: 3, rounds: 2, syncEveryMs: 1000 },
  );
  const revocations = (): MessageOf<'revocations'>[] => sent.map((s) => s.message).filter((m): m is MessageOf<'revocations'> => m.type === 'revocations');
  return { gossip, sent, clock, revocations };
}

function holding(initial: string[] = []): RevocationHooks & { held: Set<string> } {
  const held = new Set(initial);
  return {
    held,
    admit: async (items) => {
      const fresh = items.filter((i) => !held.has(i) && !i.includes('forged'));
      for (const i of fresh) held.add(i);
      return fresh;
    },
    known: () => [...held],
  };
}

describe('revocation gossip', () => {
  it('pushes a new revocation to fanout peers for `rounds` ticks, carrying no membership updates', () => {
    const { gossip, sent, revocations } = setup(5, holding());
    gossip.add(jws(1));
    gossip.tick();
    expect(new Set(sent.map((s) => s.to)).size).toBe(3);
    gossip.tick();
    expect(revocations()).toHaveLength(6);
    gossip.tick();
    gossip.tick();
    expect(revocations()).toHaveLength(6);
    for (const m of revocations()) {
      expect(m.items).toEqual([jws(1)]);
      expect(m.updates).toEqual([]);
      expect(parseGossipMessage(JSON.parse(JSON.stringify(m)))).toEqual(m);
    }
  });

  it('syncs pages of everything held to one peer every syncEveryMs, rotating through them', () => {
    const many = Array.from({ length: LIMITS.maxRevocations + 10 }, (_, i) => jws(i));
    const { gossip, clock, revocations } = setup(4, holding(many));
    gossip.tick();
    expect(revocations()).toHaveLength(0);
    clock.advanceTo(clock.now() + 1000);
    gossip.tick();
    clock.advanceTo(clock.now() + 1000);
    gossip.tick();
    const pages = revocations();
    expect(pages).toHaveLength(2);
    expect(pages[0]?.items).toHaveLength(LIMITS.maxRevocations);
    expect(pages[1]?.items).toEqual(many.slice(LIMITS.maxRevocations));
  });

  it('relays only what the shell admits as new; a forged or known one goes no further', async () => {
    const hooks = holding([jws(1)]);
    const { gossip, revocations } = setup(3, hooks);
    const from = nodeIdOf(2);
    await gossip.handle({ v: PROTOCOL_VERSION, from, type: 'revocations', items: [jws(1), 'a.forged.b', jws(2)] });
    expect([...hooks.held]).toEqual([jws(1), jws(2)]);
    gossip.tick();
    const pushed = revocations();
    expect(pushed.length).toBeGreaterThan(0);
    for (const m of pushed) expect(m.items).toEqual([jws(2)]);
  });

  it('a node without hooks (no --auth-public-key) ignores and sends nothing', async () => {
    const { gossip, sent, clock } = setup(3, undefined);
    gossip.add(jws(1));
    await gossip.handle({ v: PROTOCOL_VERSION, from: nodeIdOf(1), type: 'revocations', items: [jws(3)] });
    for (let i = 0; i < 5; i++) {
      clock.advanceTo(clock.now() + 1000);
      gossip.tick();
    }
    expect(sent).toEqual([]);
  });

  it('the wire schema bounds the count and size of revocations and refuses what is not a compact JWS', () => {
    const base = { v: PROTOCOL_VERSION, from: nodeIdOf(1), type: 'revocations' };
    expect(() => parseGossipMessage({ ...base, items: [] })).toThrow();
    expect(() => parseGossipMessage({ ...base, items: Array.from({ length: LIMITS.maxRevocations + 1 }, (_, i) => jws(i)) })).toThrow();
    expect(() => parseGossipMessage({ ...base, items: [`a.${'b'.repeat(LIMITS.maxRevocationChars)}.c`] })).toThrow();
    expect(() => parseGossipMessage({ ...base, items: ['not a jws'] })).toThrow();
    expect(() => parseGossipMessage({ ...base, items: [jws(1)], extra: 1 })).toThrow();
    expect(parseGossipMessage({ ...base, items: [jws(1)] }).type).toBe('revocations');
  });
});
