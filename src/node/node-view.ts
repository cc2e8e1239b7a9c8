/**
 * What a node says about itself: its readiness (`/readyz`) and its view of
 * the cluster (`GET /cluster`, the status page), computed from what its
 * parts report. Pure: the node passes in the parts' current state.
 */
import type { ClusterView } from '../http/cluster-view.js';
import type { MemberRecord } from '../gossip/core/types.js';
import type { StoreStats } from '../storage/types.js';
import type { LagSummary } from './replication-lags.js';
import type { CustodyStats } from '../gossip/core/custody.js';
import type { Replicas } from '../gossip/core/placement.js';
import type { ClockVerdict } from '../gossip/core/clock-offsets.js';
import { clockReason, type Acceptance } from '../gossip/shell/peer-clocks.js';

/** What readiness is judged on: cheap to gather, as probes ask often. */
export interface ReadinessState {
  readonly stopping: boolean;
  readonly storageOpen: boolean;
  /** running without the Point and peers on purpose (--alone) */
  readonly alone: boolean;
  readonly members: readonly MemberRecord[];
  /** the Point registered with (or tried now), every Point known, and the moves away from a Point that stopped answering */
  readonly point: {
    readonly url: string; readonly state: string | undefined; readonly lastError: string | null;
    readonly known: readonly string[]; readonly failovers: number;
  };
  /** this node's clock against its peers'; absent when running alone */
  readonly clock?: ClockVerdict | undefined;
  /** peers that lately accepted, or refused, this node's messages; absent when running alone */
  readonly acceptance?: Acceptance | undefined;
}

/** The parts' state the cluster view is made of (the store's counts walk its index). */
export interface NodeState extends ReadinessState {
  readonly id: string;
  readonly publicKey: string;
  readonly address: string;
  readonly startedAt: Date;
  readonly store: StoreStats;
  readonly lags: LagSummary;
  readonly placement: { readonly replicas: Replicas; readonly zone: string | null; readonly cacheBytes: number; readonly writeCopies: number };
  /** absent when running alone: every body held is owned */
  readonly custody: CustodyStats | undefined;
  /** each peer's clock offset, ms */
  readonly offsets: ReadonlyMap<string, number>;
  /** the active view: its bound, its members' ids, peers with a keep-alive pool, open connections */
  readonly links: { readonly maxPeers: number; readonly active: readonly string[]; readonly kept: number; readonly keptConnections: number; readonly oneOffConnections: number };
}

export function readiness(s: ReadinessState): { ready: boolean; reason: string } {
  if (s.stopping) return { ready: false, reason: 'stopping' };
  if (!s.storageOpen) return { ready: false, reason: 'storage is not open' };
  if (s.alone) return { ready: true, reason: 'storage open; alone on purpose (--alone)' };
  if (s.clock?.disagrees === true) return { ready: false, reason: clockReason(s.clock) };
  if (s.acceptance !== undefined && s.acceptance.refusing > 0 && s.acceptance.accepting === 0) {
    return { ready: false, reason: `storage open; not joined: every peer that answered lately (${s.acceptance.refusing}) refused this node's messages` };
  }
  const live = s.members.filter((m) => m.state === 'alive').length;
  const point = s.point.state ?? 'unknown';
  if (s.point.state === 'registered' || live > 0) return { ready: true, reason: `storage open; joined (${live} live peers, Point ${point})` };
  return { ready: false, reason: `storage open; not joined yet (Point ${point}${s.point.lastError ? `: ${s.point.lastError}` : ''}, no live peers)` };
}

function seconds(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms) / 1000;
}

function placementView(s: NodeState): ClusterView['placement'] {
  const c = s.custody;
  return {
    replicas: s.placement.replicas,
    zone: s.placement.zone,
    writeCopies: s.placement.writeCopies,
    members: c?.placementMembers ?? 1,
    owned: c === undefined ? { bodies: s.store.bodies, bytes: s.store.bodyBytes } : { bodies: c.ownedBodies, bytes: c.ownedBytes },
    cached: { bodies: c?.cachedBodies ?? 0, bytes: c?.cachedBytes ?? 0, limitBytes: s.placement.cacheBytes },
    handoff: { bodies: c?.handoffBodies ?? 0, bytes: c?.handoffBytes ?? 0 },
    missing: { bodies: c?.missingBodies ?? 0, bytes: c?.missingBytes ?? 0 },
  };
}

export function clusterView(s: NodeState): ClusterView {
  return {
    id: s.id,
    publicKey: s.publicKey,
    address: s.address,
    startedAt: s.startedAt.toISOString(),
    peers: s.members.map((m) => ({
      id: m.id, address: m.address, state: m.state, incarnation: m.incarnation,
      lastContact: m.lastContact === null ? null : new Date(m.lastContact).toISOString(),
      clockOffsetSeconds: seconds(s.offsets.get(m.id)),
    })),
    clock: {
      limitSeconds: (s.clock?.limitMs ?? 0) / 1000,
      peers: s.clock?.peers ?? 0,
      peersBeyond: s.clock?.beyond ?? 0,
      medianOffsetSeconds: seconds(s.clock?.medianMs) ?? 0,
      disagrees: s.clock?.disagrees ?? false,
    },
    activeView: {
      maxPeers: s.links.maxPeers,
      peers: [...s.links.active],
      keptPeers: s.links.kept,
      connections: { kept: s.links.keptConnections, oneOff: s.links.oneOffConnections },
    },
    blobs: { live: s.store.liveKeys, keys: s.store.keys, bodies: s.store.bodies, bytes: s.store.bodyBytes, quotaBytes: s.store.quotaBytes },
    replication: { ...s.lags, conflictsDetected: s.store.conflictsDetected, conflictsResolved: s.store.conflictsResolved },
    placement: placementView(s),
    point: {
      url: s.point.url,
      state: s.alone ? 'not used (--alone)' : s.point.state ?? 'not contacted',
      lastError: s.point.lastError,
      known: [...s.point.known],
      failovers: s.point.failovers,
    },
  };
}
