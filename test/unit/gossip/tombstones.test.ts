/**
 * Tombstones (src/gossip/core/tombstones.ts), pure: collection only once
 * every live member has confirmed, with a bounded number of members asked per
 * sweep; and the pull-only rejoin, where old keys are held back until
 * witnesses vouch for them or the key is forgotten.
 */
import { describe, expect, it } from 'vitest';
import type { Version } from '../../../src/consensus/types.js';
import { EMPTY_SHA256 } from '../../../src/consensus/schema.js';
import { PROTOCOL_VERSION, type GossipMessage, type MessageOf } from '../../../src/gossip/core/messages.js';
import { Tombstones, type TombstoneOptions } from '../../../src/gossip/core/tombstones.js';
import type { PeerInfo } from '../../../src/gossip/core/types.js';
import { silentLogger } from '../../../src/log.js';
import { MemoryVersionStore } from '../../../tools/doubles/memory-version-store.js';
import { SeededRandom } from '../../../tools/sim/seeded-random.js';
import { StaticPeers } from '../../../tools/sim/static-peers.js';
import { VirtualClock } from '../../../tools/sim/virtual-clock.js';
import { nodeIdOf } from '../../helpers/data-plane-sim.js';

const KEY_A = '6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';
const KEY_B = '0b8f6d3c-1a2e-4f5d-8c9b-7e6a5d4c3b2a';
const OPTIONS: TombstoneOptions = { graceMs: 10_000, witnessUptimeMs: 2_000, witnesses: 2, askEveryMs: 1_000, askPeersPerSweep: 3, askKeysPerSweep: 100 };

function version(key: string, wall: number, tombstone: boolean, origin = nodeIdOf(1)): Version {
  return {
    key, clock: { [origin]: 1 }, timestamp: { wall, logical: 0 }, origin,
    sha256: tombstone ? EMPTY_SHA256 : 'ab'.repeat(32), size: tombstone ? 0 : 10, contentType: 'application/octet-stream', tombstone,
  };
}

/** One Tombstones over `peers` live members, its sends recorded. */
function lone(peers: number, options: Partial<TombstoneOptions> = {}) {
  const infos: PeerInfo[] = Array.from({ length: peers + 1 }, (_, i) => ({ id: nodeIdOf(i), address: `127.0.0.1:${20_000 + i}`, publicKey: 'A'.repeat(43) }));
  const self = infos[0] as PeerInfo;
  const live = infos.slice(1);
  const clock = new VirtualClock();
  const random = new SeededRandom(7);
  const store = new MemoryVersionStore();
  const sent: { to: string; message: GossipMessage }[] = [];
  const forgotten: string[] = [];
  const tombstones = new Tombstones(
    { self, transport: { send: (to, message) => sent.push({ to: to.id, message }) }, clock, random, logger: silentLogger() },
    {
      store,
      peers: new StaticPeers(self.id, infos, random.fork()),
      live: () => live,
      forget: async (key) => {
        forgotten.push(key);
        await store.forgetKey(key);
      },
    },
    { ...OPTIONS, ...options },
  );
  const queries = (): MessageOf<'key-query'>[] => sent.map((s) => s.message).filter((m): m is MessageOf<'key-query'> => m.type === 'key-query');
  const state = (from: number, parts: Partial<Pick<MessageOf<'key-state'>, 'absent' | 'tombstoned' | 'live' | 'witness' | 'rejoining'>>): MessageOf<'key-state'> => ({
    v: PROTOCOL_VERSION, from: nodeIdOf(from), type: 'key-state', absent: [], tombstoned: [], live: [], witness: true, ...parts,
  });
  return { tombstones, store, sent, queries, state, live, clock, forgotten };
}

/** Lets the async part of handle() (forgetting a key) finish. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('Tombstones: collection', () => {
  it('collects a key only once every live member has said tombstoned or absent', () => {
    const { tombstones, state } = lone(3);
    expect(tombstones.collectable([KEY_A])).toEqual([]);
    tombstones.handle(state(1, { tombstoned: [KEY_A] }));
    tombstones.handle(state(2, { absent: [KEY_A] }));
    expect(tombstones.collectable([KEY_A])).toEqual([]);
    tombstones.handle(state(3, { tombstoned: [KEY_A] }));
    expect(tombstones.collectable([KEY_A])).toEqual([KEY_A]);
  });

  it('a member that still holds the key live holds collection back', () => {
    const { tombstones, state } = lone(2);
    tombstones.collectable([KEY_A]);
    tombstones.handle(state(1, { tombstoned: [KEY_A] }));
    tombstones.handle(state(2, { live: [KEY_A] }));
    expect(tombstones.collectable([KEY_A])).toEqual([]);
  });

  it('asks at most askPeersPerSweep members a sweep, a different slice each time, and never again one that confirmed', () => {
    const { tombstones, queries, state, sent } = lone(7, { askPeersPerSweep: 3 });
    const askedIn = (): string[] => {
      const to = sent.filter((s) => s.message.type === 'key-query').map((s) => s.to);
      sent.length = 0;
      return to;
    };
    tombstones.collectable([KEY_A, KEY_B]);
    const first = askedIn();
    expect(first).toHaveLength(3);
    expect(new Set(first).size).toBe(3);
    tombstones.collectable([KEY_A, KEY_B]);
    const second = askedIn();
    expect(second).toHaveLength(3);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    // Everyone asked so far confirms; the rest are asked, and the confirmed ones are not.
    for (const id of [...first, ...second]) tombstones.handle(state(Number.parseInt(id.slice(1), 16) - 1, { tombstoned: [KEY_A, KEY_B] }));
    expect(tombstones.collectable([KEY_A, KEY_B])).toEqual([]);
    const third = askedIn();
    expect(third).toHaveLength(1);
    expect([...first, ...second]).not.toContain(third[0]);
    tombstones.handle(state(Number.parseInt((third[0] as string).slice(1), 16) - 1, { absent: [KEY_A, KEY_B] }));
    expect(tombstones.collectable([KEY_A, KEY_B]).sort()).toEqual([KEY_A, KEY_B].sort());
    expect(queries()).toHaveLength(0);
  });

  it('asks about at most askKeysPerSweep keys a sweep', () => {
    const { tombstones, sent } = lone(1, { askKeysPerSweep: 1 });
    tombstones.collectable([KEY_A, KEY_B]);
    const asked = sent.flatMap((s) => (s.message.type === 'key-query' ? s.message.keys : []));
    expect(asked).toHaveLength(1);
  });

  it('forgets the confirmations of a key that is no longer a candidate (written again)', () => {
    const { tombstones, state } = lone(1);
    tombstones.collectable([KEY_A]);
    tombstones.handle(state(1, { tombstoned: [KEY_A] }));
    expect(tombstones.collectable([KEY_B])).toEqual([]);
    // KEY_A comes back as a candidate: the old confirmation no longer counts.
    expect(tombstones.collectable([KEY_A])).toEqual([]);
  });
});

describe('Tombstones: answering', () => {
  it('answers key-query with what this node holds, and as a witness only once up long enough', () => {
    const { tombstones, store, sent, clock } = lone(1);
    store.putLocal(version(KEY_A, 1, true));
    store.putLocal(version(KEY_B, 1, false));
    const absent = '11111111-2222-4333-8444-555555555555';
    const ask: MessageOf<'key-query'> = { v: PROTOCOL_VERSION, from: nodeIdOf(1), type: 'key-query', keys: [KEY_A, KEY_B, absent] };
    tombstones.handle(ask);
    expect(sent.at(-1)?.message).toMatchObject({ type: 'key-state', absent: [absent], tombstoned: [KEY_A], live: [KEY_B], witness: false });
    clock.advanceTo(clock.now() + OPTIONS.witnessUptimeMs);
    tombstones.handle(ask);
    expect(sent.at(-1)?.message).toMatchObject({ type: 'key-state', witness: true });
  });
});

describe('Tombstones: pull-only rejoin', () => {
  it('holds back keys older than the grace until witnesses vouch, and forgets the ones no witness knows', async () => {
    const { tombstones, store, state, clock, forgotten, queries } = lone(3);
    store.putLocal(version(KEY_A, 0, false));
    store.putLocal(version(KEY_B, 0, false));
    clock.advanceTo(clock.now() + OPTIONS.graceMs + 1);
    tombstones.enterPullOnly();
    expect(tombstones.pullOnly).toBe(true);
    expect(tombstones.mayOffer(KEY_A)).toBe(false);
    expect(tombstones.mayOffer(KEY_B)).toBe(false);
    tombstones.tick();
    expect(queries().length).toBeGreaterThan(0);
    // A witness knows KEY_A: released. Not yet a second witness for KEY_B.
    tombstones.handle(state(1, { live: [KEY_A], absent: [KEY_B] }));
    expect(tombstones.mayOffer(KEY_A)).toBe(true);
    expect(tombstones.mayOffer(KEY_B)).toBe(false);
    // An answer that is not a witness's does not count.
    tombstones.handle(state(2, { absent: [KEY_B], witness: false }));
    await settle();
    expect(forgotten).toEqual([]);
    tombstones.handle(state(3, { absent: [KEY_B] }));
    await settle();
    expect(forgotten).toEqual([KEY_B]);
    expect(store.siblings(KEY_B)).toEqual([]);
    expect(tombstones.pullOnly).toBe(false);
    expect(tombstones.stats()).toMatchObject({ rejoinPending: 0, rejoinForgotten: 1, rejoinReleased: 1 });
  });

  it('does not hold back keys written within the grace, and stays out of pull-only when nothing is old', () => {
    const { tombstones, store, clock } = lone(2);
    clock.advanceTo(clock.now() + OPTIONS.graceMs + 1);
    store.putLocal(version(KEY_A, clock.now(), false));
    tombstones.enterPullOnly();
    expect(tombstones.pullOnly).toBe(false);
    expect(tombstones.mayOffer(KEY_A)).toBe(true);
  });

  it('a key changed meanwhile (a peer sent it, a client wrote it) is released', () => {
    const { tombstones, store, clock } = lone(2);
    store.putLocal(version(KEY_A, 0, false));
    clock.advanceTo(clock.now() + OPTIONS.graceMs + 1);
    tombstones.enterPullOnly();
    expect(tombstones.mayOffer(KEY_A)).toBe(false);
    store.putLocal(version(KEY_A, clock.now(), true, nodeIdOf(2)));
    expect(tombstones.mayOffer(KEY_A)).toBe(true);
  });

  it('releases the held-back keys when every live peer is rejoining too (the whole cluster was away)', () => {
    const { tombstones, store, state, clock } = lone(2);
    store.putLocal(version(KEY_A, 0, false));
    clock.advanceTo(clock.now() + OPTIONS.graceMs + 1);
    tombstones.enterPullOnly();
    tombstones.handle(state(1, { absent: [KEY_A], witness: false, rejoining: true }));
    tombstones.tick();
    expect(tombstones.mayOffer(KEY_A)).toBe(false);
    // peer 2 has not said it is rejoining: nothing is released
    for (let i = 0; i < 3; i++) {
      clock.advanceTo(clock.now() + OPTIONS.askEveryMs);
      tombstones.tick();
    }
    expect(tombstones.mayOffer(KEY_A)).toBe(false);
    tombstones.handle(state(2, { absent: [KEY_A], witness: false, rejoining: true }));
    clock.advanceTo(clock.now() + OPTIONS.askEveryMs);
    tombstones.tick();
    expect(tombstones.mayOffer(KEY_A)).toBe(true);
    expect(tombstones.pullOnly).toBe(false);
    expect(store.siblings(KEY_A)).toHaveLength(1);
  });

  it('releases them when no peer is live, but not before two rounds of asking', () => {
    const { tombstones, store, clock, live } = lone(2);
    store.putLocal(version(KEY_A, 0, false));
    clock.advanceTo(clock.now() + OPTIONS.graceMs + 1);
    tombstones.enterPullOnly();
    live.splice(0, live.length);
    tombstones.tick();
    expect(tombstones.mayOffer(KEY_A)).toBe(false);
    clock.advanceTo(clock.now() + 2 * OPTIONS.askEveryMs);
    tombstones.tick();
    expect(tombstones.mayOffer(KEY_A)).toBe(true);
  });

  it('a peer that is young but not rejoining keeps the keys held back (it will be a witness)', () => {
    const { tombstones, store, state, clock } = lone(1);
    store.putLocal(version(KEY_A, 0, false));
    clock.advanceTo(clock.now() + OPTIONS.graceMs + 1);
    tombstones.enterPullOnly();
    tombstones.handle(state(1, { absent: [KEY_A], witness: false, rejoining: false }));
    for (let i = 0; i < 5; i++) {
      clock.advanceTo(clock.now() + OPTIONS.askEveryMs);
      tombstones.tick();
    }
    expect(tombstones.mayOffer(KEY_A)).toBe(false);
  });

  it('says in its answers whether it is rejoining itself', () => {
    const { tombstones, store, sent, clock } = lone(1);
    store.putLocal(version(KEY_A, 0, false));
    clock.advanceTo(clock.now() + OPTIONS.graceMs + 1);
    tombstones.enterPullOnly();
    tombstones.handle({ v: PROTOCOL_VERSION, from: nodeIdOf(1), type: 'key-query', keys: [KEY_A] });
    expect(sent.at(-1)?.message).toMatchObject({ type: 'key-state', live: [KEY_A], witness: false, rejoining: true });
  });
});

