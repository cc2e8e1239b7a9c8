/**
 * Regression: a node back from longer than the tombstone grace served, to
 * clients, a blob deleted (and its tombstone collected) while it was away,
 * until witnesses let it forget the key (test/integration/cluster/placement.test.ts,
 * "a delete while a node is away past the tombstone grace"). Reads of a
 * held-back key now wait for the witnesses, with a bound.
 */
import { describe, expect, it } from 'vitest';
import type { Version } from '../../../src/consensus/types.js';
import { PROTOCOL_VERSION, type GossipMessage } from '../../../src/gossip/core/messages.js';
import { Tombstones } from '../../../src/gossip/core/tombstones.js';
import type { PeerInfo } from '../../../src/gossip/core/types.js';
import { RejoinReads } from '../../../src/gossip/shell/rejoin-reads.js';
import { silentLogger } from '../../../src/log.js';
import { MemoryVersionStore } from '../../../tools/doubles/memory-version-store.js';
import { SeededRandom } from '../../../tools/sim/seeded-random.js';
import { StaticPeers } from '../../../tools/sim/static-peers.js';
import { VirtualClock } from '../../../tools/sim/virtual-clock.js';
import { nodeIdOf } from '../../helpers/data-plane-sim.js';

const KEY = '6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';
const GRACE = 4_000;

function rejoining(options: { timeoutMs?: number; pullOnly?: boolean } = {}) {
  const infos: PeerInfo[] = [0, 1, 2].map((i) => ({ id: nodeIdOf(i), address: `127.0.0.1:${21_000 + i}`, publicKey: 'A'.repeat(43) }));
  const self = infos[0] as PeerInfo;
  const clock = new VirtualClock();
  const random = new SeededRandom(7);
  const sent: { to: string; message: GossipMessage }[] = [];
  const store = new MemoryVersionStore();
  // a live version written long before this node came back
  const old: Version = Object.freeze({
    key: KEY, clock: { [nodeIdOf(1)]: 1 }, timestamp: { wall: clock.now() - 10 * GRACE, logical: 0 }, origin: nodeIdOf(1),
    sha256: 'ab'.repeat(32), size: 10, contentType: 'application/octet-stream', tombstone: false,
  });
  store.putLocal(old);
  const peers = new StaticPeers(self.id, infos, random.fork());
  const tombstones = new Tombstones(
    { self, transport: { send: (to, message) => sent.push({ to: to.id, message }) }, clock, random, logger: silentLogger() },
    { store, peers, live: () => peers.sample(10), forget: (key) => store.forgetKey(key) },
    { graceMs: GRACE, witnessUptimeMs: 0, witnesses: 2, askEveryMs: 500, askPeersPerSweep: 64, askKeysPerSweep: 4096 },
  );
  const reads = new RejoinReads(tombstones, options.timeoutMs ?? 60_000);
  if (options.pullOnly ?? true) tombstones.enterPullOnly();
  const absentFrom = (i: number): GossipMessage => ({ v: PROTOCOL_VERSION, from: nodeIdOf(i), type: 'key-state', absent: [KEY], tombstoned: [], live: [], witness: true });
  const liveAt = (i: number): GossipMessage => ({ v: PROTOCOL_VERSION, from: nodeIdOf(i), type: 'key-state', absent: [], tombstoned: [], live: [KEY], witness: true });
  return { reads, tombstones, store, sent, absentFrom, liveAt };
}

/** Resolves true if `p` settles before the microtask queue drains a few times. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => { done = true; });
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return done;
}

describe('RejoinReads: a read of a key held back by a pull-only rejoin', () => {
  it('waits until the witnesses say nobody knows the key, by which time it is forgotten here', async () => {
    const { reads, tombstones, store, sent, absentFrom } = rejoining();
    reads.started();
    const read = reads.settle(KEY);
    expect(read).toBeDefined();
    expect(await settledSoon(read as Promise<boolean>)).toBe(false);
    // the witnesses are asked about this key at once
    expect(sent.filter((s) => s.message.type === 'key-query' && s.message.keys.includes(KEY)).length).toBeGreaterThan(0);
    tombstones.handle(absentFrom(1));
    expect(await settledSoon(read as Promise<boolean>)).toBe(false);
    tombstones.handle(absentFrom(2));
    await read;
    expect(store.siblings(KEY)).toEqual([]);
    expect(reads.settle(KEY)).toBeUndefined();
  });

  it('goes on once a witness vouches for the key, which is still here', async () => {
    const { reads, tombstones, store, liveAt } = rejoining();
    reads.started();
    const read = reads.settle(KEY) as Promise<boolean>;
    tombstones.handle(liveAt(1));
    await read;
    expect(store.siblings(KEY)).toHaveLength(1);
  });

  it('waits for start() to decide whether the node rejoins pull-only', async () => {
    const { reads } = rejoining({ pullOnly: false });
    const early = reads.settle(KEY);
    expect(early).toBeDefined();
    expect(await settledSoon(early as Promise<boolean>)).toBe(false);
    reads.started();
    await early;
    expect(reads.settle(KEY)).toBeUndefined();
  });

  it('is bounded: with no witness answering, the wait ends with the key still here and still held back (the read then answers 503)', async () => {
    const { reads, store } = rejoining({ timeoutMs: 20 });
    reads.started();
    expect(await reads.settle(KEY)).toBe(true);
    expect(store.siblings(KEY)).toHaveLength(1);
  });
});
