/**
 * Where the bodies of a run must be once it has converged, by placement
 * (proposals/0010-placement.md): pure, no I/O. Used by the checker for the
 * verdict and by the runner to tell when the cluster has converged, so both
 * apply one rule.
 *
 * Each body is owned by R nodes that every node computes from its member
 * list; other nodes may hold a copy (the node that took the PUT, until every
 * owner confirms; a cache) or not. So, for every live member of a key's
 * final sibling set (the winner and its concurrent siblings):
 *
 *   - every node names the same owners (`owners` in GET /blobs/{guid}/versions),
 *     each an id of a node of the run, and, when the run knows R, as many as
 *     min(R, nodes);
 *   - every owner holds the body (`bodyHeld` on that owner);
 *   - at least one node holds it: otherwise the bytes are gone, which makes
 *     an acknowledged write whose version it is a lost write (checker.ts).
 *
 * A node that names no owners (full replication, as before placement)
 * counts as naming every node of the run.
 */
import { versionIdentity, type FinalKeyState, type FinalVersion } from './history.js';

export interface OwnerDisagreement {
  key: string;
  sha256: string;
  why: string;
}

/** An owner of a live final version that does not hold its body. */
export interface UnplacedBody {
  key: string;
  sha256: string;
  node: number;
}

export interface PlacementGaps {
  ownerDisagreements: OwnerDisagreement[];
  unplacedBodies: UnplacedBody[];
  /** identities (history.ts versionIdentity) of live final versions whose body no node holds */
  noCopy: Set<string>;
  /** for each live final version, how many nodes hold its body */
  copies: number[];
}

export interface PlacementRules {
  /** node index → its id, as `owners` names it */
  nodeIds: readonly string[];
  /** owners each body should have: min(R, nodes); undefined when the run does not say */
  ownersPerBody?: number;
}

function sameOwners(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

/** The placement gaps of one key, judged on the live members of the first node's set. */
export function placementGaps(key: string, states: readonly FinalKeyState[], rules: PlacementRules): PlacementGaps {
  const gaps: PlacementGaps = { ownerDisagreements: [], unplacedBodies: [], noCopy: new Set(), copies: [] };
  const reference = states[0];
  if (reference === undefined) return gaps;
  const allNodes = states.map((s) => s.node);
  for (const member of reference.versions) {
    if (member.tombstone) continue;
    const id = versionIdentity(member);
    // every node's copy of this version (a node lacking it is a divergence, reported apart)
    const entries: { node: number; v: FinalVersion }[] = [];
    for (const s of states) {
      const v = s.versions.find((x) => versionIdentity(x) === id);
      if (v !== undefined) entries.push({ node: s.node, v });
    }
    const first = entries[0] as { node: number; v: FinalVersion };
    const disagree = (why: string): void => { gaps.ownerDisagreements.push({ key, sha256: member.sha256, why }); };
    for (const e of entries.slice(1)) {
      const a = first.v.owners;
      const b = e.v.owners;
      if (a === undefined && b === undefined) continue;
      if (a === undefined || b === undefined || !sameOwners(a, b)) {
        disagree(`node ${first.node} names owners [${a?.join(', ') ?? 'none'}], node ${e.node} names [${b?.join(', ') ?? 'none'}]`);
        break;
      }
    }
    let owners: number[] = allNodes;
    if (first.v.owners !== undefined) {
      owners = [];
      for (const ownerId of first.v.owners) {
        const index = rules.nodeIds.indexOf(ownerId);
        if (index < 0) disagree(`node ${first.node} names owner ${ownerId}, which is no node of this run`);
        else owners.push(index);
      }
      if (rules.ownersPerBody !== undefined && first.v.owners.length !== rules.ownersPerBody) {
        disagree(`node ${first.node} names ${first.v.owners.length} owners, the run places each body on ${rules.ownersPerBody}`);
      }
    }
    for (const owner of owners) {
      const held = entries.find((e) => e.node === owner);
      if (held !== undefined && !held.v.bodyHeld) gaps.unplacedBodies.push({ key, sha256: member.sha256, node: owner });
    }
    const copies = entries.filter((e) => e.v.bodyHeld).length;
    gaps.copies.push(copies);
    if (copies === 0) gaps.noCopy.add(id);
  }
  return gaps;
}
