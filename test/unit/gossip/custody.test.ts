/**
 * Custody (src/gossip/core/custody.ts), pure: an idle node skips its sweeps
 * (idle cost independent of the key count) and sweeps again as soon as
 * something it would see differently happens.
 */
import { describe, expect, it } from 'vitest';
import { Custody } from '../../../src/gossip/core/custody.js';
import { PLACEMENT_OPTIONS } from '../../../src/gossip/core/placement-config.js';
import type { MemberRecord, PeerInfo } from '../../../src/gossip/core/types.js';
import { buildOptions } from '../../../src/options.js';
import { silentLogger } from '../../../src/log.js';
import { MemoryVersionStore } from '../../../tools/doubles/memory-version-store.js';
import { SeededRandom } from '../../../tools/sim/seeded-random.js';
import { StaticPeers } from '../../../tools/sim/static-peers.js';
import { VirtualClock } from '../../../tools/sim/virtual-clock.js';
import { nodeIdOf } from '../../helpers/data-plane-sim.js';

const options = buildOptions(PLACEMENT_OPTIONS, { replicas: 1 }, 'localTest');

function lone() {
  const self: PeerInfo = { id: nodeIdOf(0), address: '127.0.0.1:20000', publicKey: 'A'.repeat(43) };
  const clock = new VirtualClock();
  const random = new SeededRandom(3);
  const store = new MemoryVersionStore();
  const members: MemberRecord[] = [];
  const needed: string[] = [];
  const custody = new Custody(
    { self, transport: { send: () => undefined }, clock, random, logger: silentLogger() },
    {
      store, peers: new StaticPeers(self.id, [self], random.fork()), members: () => members, knownHolders: () => [],
      onBodyNeeded: (v) => needed.push(v.sha256), onBodyDropped: () => undefined,
    },
    options,
  );
  /** Advances virtual time by whole sweep intervals, ticking once each. */
  const sweeps = (count: number): void => {
    for (let i = 0; i < count; i++) {
      clock.advanceTo(clock.now() + options.sweepIntervalMs);
      custody.tick();
    }
  };
  return { custody, store, clock, sweeps, needed };
}

const version = (key: string, sha: string) => ({
  key, clock: { [nodeIdOf(0)]: 1 }, timestamp: { wall: 1, logical: 0 }, origin: nodeIdOf(0),
  sha256: sha, size: 100, contentType: 'application/octet-stream', tombstone: false,
});

describe('Custody: idle sweeps', () => {
  it('skips sweeps once nothing changed and nothing is missing, and sweeps again after a change', () => {
    const { custody, store, sweeps, needed } = lone();
    store.putLocal(version('6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f', 'ab'.repeat(32)));
    // past settleMs: at least one acting sweep, then skips
    sweeps(Math.ceil(options.settleMs / options.sweepIntervalMs) + 5);
    const settled = custody.stats();
    expect(settled.ownedBodies).toBe(1);
    expect(settled.skipped).toBeGreaterThan(0);
    sweeps(10);
    expect(custody.stats().sweeps).toBe(settled.sweeps);
    expect(custody.stats().skipped).toBe(settled.skipped + 10);
    // a version whose body is missing: swept, asked for, and swept while it stays missing
    store.putLocal(version('0b8f6d3c-1a2e-4f5d-8c9b-7e6a5d4c3b2a', 'cd'.repeat(32)), false);
    sweeps(3);
    expect(custody.stats().sweeps).toBe(settled.sweeps + 3);
    expect(custody.stats().missingBodies).toBe(1);
    expect(needed).toContain('cd'.repeat(32));
    // it arrives: one more sweep counts it, then the sweeps stop again
    store.addBody('cd'.repeat(32));
    sweeps(5);
    expect(custody.stats()).toMatchObject({ missingBodies: 0, ownedBodies: 2, sweeps: settled.sweeps + 4 });
  });

  it('a body lost on disk makes the next sweep run', () => {
    const { custody, sweeps } = lone();
    sweeps(Math.ceil(options.settleMs / options.sweepIntervalMs) + 3);
    const before = custody.stats().sweeps;
    sweeps(2);
    expect(custody.stats().sweeps).toBe(before);
    custody.markDirty();
    sweeps(1);
    expect(custody.stats().sweeps).toBe(before + 1);
  });
});
