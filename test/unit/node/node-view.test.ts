/**
 * A node's readiness and cluster view, from its parts' state (pure), and the
 * bounded window of replication lags behind the view.
 */
import { describe, expect, it } from 'vitest';
import { clusterView, readiness, type NodeState } from '../../../src/node/node-view.js';
import { ReplicationLags } from '../../../src/node/replication-lags.js';
import type { MemberRecord } from '../../../src/gossip/core/types.js';

const member = (id: string, state: MemberRecord['state'], lastContact: number | null = null): MemberRecord =>
  ({ id, address: `127.0.0.9:${id.length}`, publicKey: 'k', incarnation: 2, state, stateSince: 0, lastContact });

const base: NodeState = {
  id: 'n0123456789abcdef', publicKey: 'pk', address: '127.0.0.2:7000', startedAt: new Date(Date.UTC(2026, 0, 1)),
  stopping: false, storageOpen: true, alone: false,
  store: { liveKeys: 3, keys: 4, bodies: 3, bodyBytes: 30, quotaBytes: 100, metaLogBytes: 9, corruptBodiesDetected: 0, conflictsDetected: 1, conflictsResolved: 1, stagedVersions: 0 },
  members: [], lags: { samples: 0, lagMedianMs: null, lagMaxMs: null },
  point: { url: 'http://127.0.0.1:8080', state: 'unreachable', lastError: 'connect ECONNREFUSED', known: ['http://127.0.0.1:8080', 'http://127.0.0.1:8081'], failovers: 1 },
  placement: { replicas: 2, zone: null, cacheBytes: 1000, writeCopies: 1 },
  custody: undefined,
  offsets: new Map(),
  links: { maxPeers: 32, active: [], kept: 0, keptConnections: 0, oneOffConnections: 0 },
};

describe('readiness', () => {
  it('is not ready while stopping or with storage closed, whatever else holds', () => {
    expect(readiness({ ...base, stopping: true, point: { ...base.point, state: 'registered' } })).toEqual({ ready: false, reason: 'stopping' });
    expect(readiness({ ...base, storageOpen: false, alone: true })).toEqual({ ready: false, reason: 'storage is not open' });
  });

  it('is ready alone on purpose, once registered, or once a peer is alive; else says why not', () => {
    expect(readiness({ ...base, alone: true }).ready).toBe(true);
    expect(readiness({ ...base, point: { ...base.point, state: 'registered', lastError: null } })).toEqual({ ready: true, reason: 'storage open; joined (0 live peers, Point registered)' });
    expect(readiness({ ...base, members: [member('a', 'alive'), member('b', 'dead')] }).reason).toBe('storage open; joined (1 live peers, Point unreachable)');
    expect(readiness({ ...base, members: [member('b', 'suspect')] })).toEqual({
      ready: false, reason: 'storage open; not joined yet (Point unreachable: connect ECONNREFUSED, no live peers)',
    });
  });

  it('is not ready when its clock disagrees with most peers, or when every peer that answers refuses it, even registered', () => {
    const registered = { ...base, point: { ...base.point, state: 'registered', lastError: null }, members: [member('a', 'alive'), member('b', 'alive')] };
    const off = readiness({ ...registered, clock: { peers: 3, beyond: 2, medianMs: -301_000, disagrees: true, limitMs: 300_000 } });
    expect(off).toEqual({ ready: false, reason: expect.stringContaining("this node's wall clock is 301 s ahead of 2 of its 3 peers, past the limit of 300 s") });
    expect(readiness({ ...registered, clock: { peers: 3, beyond: 1, medianMs: 0, disagrees: false, limitMs: 300_000 } }).ready).toBe(true);
    expect(readiness({ ...registered, acceptance: { accepting: 0, refusing: 2 } })).toEqual({
      ready: false, reason: "storage open; not joined: every peer that answered lately (2) refused this node's messages",
    });
    expect(readiness({ ...registered, acceptance: { accepting: 1, refusing: 2 } }).ready).toBe(true);
  });
});

describe('clusterView', () => {
  it('shows peers with ISO contact times, counts, lags and the Point', () => {
    const view = clusterView({
      ...base, members: [member('a', 'alive', Date.UTC(2026, 0, 1, 0, 0, 5)), member('b', 'left')], lags: { samples: 2, lagMedianMs: 40, lagMaxMs: 90 },
      offsets: new Map([['a', -1234.4]]),
      clock: { peers: 1, beyond: 0, medianMs: -1234.4, disagrees: false, limitMs: 300_000 },
    });
    expect(view.peers).toEqual([
      { id: 'a', address: '127.0.0.9:1', state: 'alive', incarnation: 2, lastContact: '2026-01-01T00:00:05.000Z', clockOffsetSeconds: -1.234 },
      { id: 'b', address: '127.0.0.9:1', state: 'left', incarnation: 2, lastContact: null, clockOffsetSeconds: null },
    ]);
    expect(view.clock).toEqual({ limitSeconds: 300, peers: 1, peersBeyond: 0, medianOffsetSeconds: -1.234, disagrees: false });
    expect(view.blobs).toEqual({ live: 3, keys: 4, bodies: 3, bytes: 30, quotaBytes: 100 });
    expect(view.replication).toEqual({ samples: 2, lagMedianMs: 40, lagMaxMs: 90, conflictsDetected: 1, conflictsResolved: 1 });
    expect(view.startedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(view.point).toEqual({ url: 'http://127.0.0.1:8080', state: 'unreachable', lastError: 'connect ECONNREFUSED', known: ['http://127.0.0.1:8080', 'http://127.0.0.1:8081'], failovers: 1 });
    expect(clusterView({ ...base, links: { maxPeers: 3, active: ['a', 'c'], kept: 2, keptConnections: 3, oneOffConnections: 1 } }).activeView)
      .toEqual({ maxPeers: 3, peers: ['a', 'c'], keptPeers: 2, connections: { kept: 3, oneOff: 1 } });
  });

  it('shows custody\'s heaps, or every held body as owned when there is no custody (alone)', () => {
    expect(clusterView(base).placement).toEqual({
      replicas: 2, zone: null, writeCopies: 1, members: 1, owned: { bodies: 3, bytes: 30 },
      cached: { bodies: 0, bytes: 0, limitBytes: 1000 }, handoff: { bodies: 0, bytes: 0 }, missing: { bodies: 0, bytes: 0 },
    });
    const custody = {
      ownedBodies: 5, ownedBytes: 50, missingBodies: 1, missingBytes: 7, handoffBodies: 2, handoffBytes: 20, cachedBodies: 3, cachedBytes: 30,
      dropped: 0, evicted: 0, queried: 0, sweeps: 1, skipped: 0, placementMembers: 6, placementChanges: 2,
    };
    expect(clusterView({ ...base, custody, placement: { ...base.placement, zone: 'z1' } }).placement).toEqual({
      replicas: 2, zone: 'z1', writeCopies: 1, members: 6, owned: { bodies: 5, bytes: 50 },
      cached: { bodies: 3, bytes: 30, limitBytes: 1000 }, handoff: { bodies: 2, bytes: 20 }, missing: { bodies: 1, bytes: 7 },
    });
  });

  it('says the Point is not used when alone, and not contacted before the link starts', () => {
    expect(clusterView({ ...base, alone: true }).point.state).toBe('not used (--alone)');
    expect(clusterView({ ...base, point: { ...base.point, state: undefined } }).point.state).toBe('not contacted');
  });
});

describe('ReplicationLags', () => {
  it('is empty at first, then gives the median and the maximum of the last `capacity` lags', () => {
    const lags = new ReplicationLags(3);
    expect(lags.summary()).toEqual({ samples: 0, lagMedianMs: null, lagMaxMs: null });
    for (const ms of [500, 10, 30, 20]) lags.record(ms);
    expect(lags.summary()).toEqual({ samples: 3, lagMedianMs: 20, lagMaxMs: 30 });
  });

  it('counts a version stamped ahead of this clock as no lag', () => {
    const lags = new ReplicationLags(4);
    lags.record(-250);
    expect(lags.summary()).toEqual({ samples: 1, lagMedianMs: 0, lagMaxMs: 0 });
  });
});
