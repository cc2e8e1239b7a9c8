/**
 * Simulation configurations. The protocol runs with the same timing profiles
 * the nodes ship with (membership-config.ts, data-plane-config.ts), so the
 * simulator measures what production will do. With the production profile a
 * round (one anti-entropy interval) is 1 s and equals the SWIM probe
 * interval; with local-test it is 100 ms against 500 ms probes.
 */
import { MEMBERSHIP_PROFILES } from '../../src/gossip/core/membership-config.js';
import { DATA_PLANE_PROFILES } from '../../src/gossip/core/data-plane-config.js';
import { PLACEMENT_PROFILES } from '../../src/gossip/core/placement-config.js';
import { POINT_LINK_OPTIONS } from '../../src/node/point-link-config.js';
import type { GossipCoreOptions } from '../../src/gossip/core/gossip-core.js';
import { DEFAULT_BODY_MODEL } from './sim-bodies.js';
import { LAN_LATENCY, WAN_LATENCY, type LatencyModel } from './latency.js';
import type { LinkModel } from './sim-network.js';
import type { SimulationConfig } from './simulation.js';

export type ProfileName = 'production' | 'local-test';

export function coreOptions(profile: ProfileName): GossipCoreOptions {
  return profile === 'production'
    ? { membership: MEMBERSHIP_PROFILES.production, data: DATA_PLANE_PROFILES.production, placement: PLACEMENT_PROFILES.production }
    : { membership: MEMBERSHIP_PROFILES.localTest, data: DATA_PLANE_PROFILES.localTest, placement: PLACEMENT_PROFILES.localTest };
}

export type LatencyName = 'lan' | 'wan';

export const LATENCIES: Readonly<Record<LatencyName, LatencyModel>> = { lan: LAN_LATENCY, wan: WAN_LATENCY };

export function link(latency: LatencyName = 'lan', loss = 0, duplicate = 0): LinkModel {
  return { latency: LATENCIES[latency], loss, duplicate };
}

/**
 * Defaults: production timing, LAN latency, JSON on the wire, every node
 * starting at once with as many peers from the Point as a node asks for (its
 * pointLink.lookCount, 16) and a fresh look as often (its lookIntervalMs, 30 s).
 */
export function simulationConfig(nodes: number, seed: number, overrides: Partial<SimulationConfig> = {}): SimulationConfig {
  return {
    nodes,
    seed,
    core: coreOptions('production'),
    link: link('lan'),
    wire: 'json',
    lookCount: POINT_LINK_OPTIONS.profiles.production.lookCount,
    lookIntervalMs: POINT_LINK_OPTIONS.profiles.production.lookIntervalMs,
    joinWindowMs: 0,
    bodies: DEFAULT_BODY_MODEL,
    ...overrides,
  };
}
