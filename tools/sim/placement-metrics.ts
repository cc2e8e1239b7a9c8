/**
 * Where the bodies are, against where placement says they should be. The
 * truth is a Placement (the product's own class) over the members the
 * simulator knows to be running, with the configured replicas and zone: what
 * every node's custody computes once membership has converged and the dead
 * are past the hand-off delay. Each node's own view is in its custody
 * (`core.custody.owners`); these checks use the truth, so a node with a
 * wrong view shows up as a misplaced copy.
 */
import { Placement } from '../../src/gossip/core/placement.js';
import type { NodeId } from '../../src/gossip/core/types.js';
import type { SimNode } from './sim-node.js';
import type { Simulation } from './simulation.js';

export interface PlacementCheck {
  /** distinct bodies named by a live (non-tombstone) version on some running node */
  bodies: number;
  /** (body, owner) pairs where the owner is running and lacks the body */
  missingCopies: number;
  /** (body, node) pairs where a running non-owner holds the body */
  extraCopies: number;
  /** bodies held by every owner and by no other running node */
  exact: number;
  /** bodies no running node holds (lost) */
  lost: number;
}

/** The placement every node converges on: over the running nodes (or `members`). */
export function truePlacement(sim: Simulation, members: readonly SimNode[] = sim.upNodes()): Placement {
  const placement = new Placement(sim.config.core.placement.replicas);
  const zone = sim.config.core.placement.zone ?? '';
  placement.setMembers(members.map((n) => ({ id: n.id, zone })));
  return placement;
}

/** Every body a live version names on some running node, with its size. */
export function liveBodies(sim: Simulation): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of sim.upNodes()) {
    for (const key of n.store.keys()) {
      for (const v of n.store.siblings(key)) if (!v.tombstone) out.set(v.sha256, v.size);
    }
  }
  return out;
}

/** Compares who holds each live body with its owners under `placement` (default: the truth). */
export function checkPlacement(sim: Simulation, placement: Placement = truePlacement(sim), shas: Iterable<string> = liveBodies(sim).keys()): PlacementCheck {
  const up = sim.upNodes();
  const check: PlacementCheck = { bodies: 0, missingCopies: 0, extraCopies: 0, exact: 0, lost: 0 };
  for (const sha of shas) {
    check.bodies++;
    const owners = new Set<NodeId>(placement.owners(sha));
    let missing = 0;
    let extra = 0;
    let held = 0;
    for (const n of up) {
      const has = n.store.hasBody(sha);
      if (has) held++;
      if (owners.has(n.id) && !has) missing++;
      else if (!owners.has(n.id) && has) extra++;
    }
    check.missingCopies += missing;
    check.extraCopies += extra;
    if (missing === 0 && extra === 0) check.exact++;
    if (held === 0) check.lost++;
  }
  return check;
}

/** Every live body is on exactly its owners (no copy missing, none extra). */
export function placementSettled(sim: Simulation, placement?: Placement): boolean {
  const c = checkPlacement(sim, placement);
  return c.missingCopies === 0 && c.extraCopies === 0;
}

/** Every running node that owns a body under the truth holds it (extra copies allowed). */
export function ownersHold(sim: Simulation, node: SimNode, placement: Placement = truePlacement(sim), shas: Iterable<string> = liveBodies(sim).keys()): boolean {
  for (const sha of shas) if (placement.isOwner(sha, node.id) && !node.store.hasBody(sha)) return false;
  return true;
}
