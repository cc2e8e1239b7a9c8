/**
 * The chaos checker: pure, no I/O. Given the history of client operations
 * and, after convergence, every node's versions of every key and a read of
 * every key from every node, it decides whether the run kept its promises.
 *
 * What "the acknowledged write, or a later or concurrent winner" means,
 * from SPEC §5. A key's state on a node is its sibling set: the versions
 * that no other version supersedes (a version supersedes another when its
 * vector clock dominates). The receipt rule drops a version only when a
 * version whose clock dominates or equals its clock is held. So, once
 * gossip has settled, an acknowledged write w (clock C_w, from the answer:
 * the version's `vectorClock` for a PUT, the `Vector-Clock` header of the
 * 204 for a DELETE) has kept its effect exactly when the final set S holds
 *
 *   - w itself (a member with clock C_w and w's sha256 / tombstone flag),
 *     whether as the winner or as a sibling that lost to a concurrent
 *     version by the deterministic winner rule ("a concurrent winner"), or
 *   - a member whose clock dominates C_w: a later write that saw w ("a
 *     later winner"; it may come from a write whose answer was lost).
 *
 * A DELETE of a key that is already deleted writes nothing and answers with
 * the context of the existing set, which no single member need equal; such
 * a DELETE has kept its effect when S still covers its context (C_w ≤ the
 * merge of S's clocks) and still holds a tombstone, or a member dominates
 * C_w. A DELETE answered without a Vector-Clock (it lost a race with a
 * concurrent delete and wrote nothing) cannot be checked and is counted as
 * unverifiable, not as acknowledged-and-kept.
 *
 * Anything else is a **lost** write: its effect vanished with no later or
 * concurrent write to explain it.
 *
 * Besides loss, the checker reports:
 *   - **divergence**: nodes whose sets of a key differ (members compared by
 *     clock, sha256, tombstone, origin and HLC timestamp), or whose winners
 *     differ;
 *   - **wrong winner**: a set that is not canonical by src/consensus (a
 *     member superseded by another, or a winner other than the one the
 *     SPEC §5 rule picks);
 *   - **unexplained versions**: a live member whose sha256 is no body a
 *     client ever sent for that key (acknowledged or not);
 *   - **partial bodies**: any GET (during the run or after) that served a
 *     body that is not whole, not of that key, not the one its ETag names,
 *     or not one a client wrote;
 *   - **stale final reads**: after convergence, a GET from any node that
 *     does not answer the winner's bytes (sha256 of what was served equal to
 *     the winner's), or 404 for a deleted key: every node serves every blob,
 *     from its own copy or streamed from an owner;
 *   - **owner disagreements** and **unplaced bodies** (placement-check.ts):
 *     nodes naming different owners for a live final version, and owners
 *     that do not hold its body. With placement a node need not hold a body
 *     it does not own, so "held" means held by the owners.
 *
 * A write whose version is in the final set still counts as lost when no
 * node holds its body: the version survived, the bytes did not.
 */
import { toSiblingSet, sameVersion } from '../../src/consensus/versions.js';
import { compareClocks, descends, mergeClocks, normalizeClock } from '../../src/consensus/vector-clock.js';
import type { Version } from '../../src/consensus/types.js';
import { versionIdentity, type FinalKeyState, type FinalRead, type FinalVersion, type OpRecord } from './history.js';
import { placementGaps, type OwnerDisagreement, type UnplacedBody } from './placement-check.js';

export interface CheckInput {
  history: readonly OpRecord[];
  /** key → every node's final state of it */
  final: ReadonlyMap<string, readonly FinalKeyState[]>;
  finalReads: readonly FinalRead[];
  /** node index → its id, as the `owners` of a version name it */
  nodeIds: readonly string[];
  /** owners each body should have, min(R, nodes); undefined when the run does not say */
  ownersPerBody?: number;
}

export interface LostWrite {
  key: string;
  op: OpRecord;
  why: string;
}

export interface CheckReport {
  /** acknowledged writes (PUT 2xx and DELETE 204) */
  acknowledged: number;
  acknowledgedPuts: number;
  acknowledgedDeletes: number;
  unverifiable: number;
  lost: LostWrite[];
  divergentKeys: { key: string; why: string }[];
  wrongWinners: { key: string; why: string }[];
  unexplainedVersions: { key: string; sha256: string }[];
  partialBodies: { key: string; node: number; problem: string; when: 'run' | 'final' }[];
  staleFinalReads: { key: string; node: number; why: string }[];
  ownerDisagreements: OwnerDisagreement[];
  /** an owner that does not hold the body of a live final version */
  unconvergedBodies: UnplacedBody[];
  /** fewest and most nodes holding the body of a live final version (undefined: none) */
  copies: { min: number; max: number } | undefined;
  /** keys whose history must be printed (any problem) */
  suspectKeys: string[];
  ok: boolean;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function toVersion(key: string, v: FinalVersion): Version {
  return {
    key, clock: normalizeClock(v.clock), timestamp: v.hlc, origin: v.origin, sha256: v.sha256, size: v.size,
    contentType: v.contentType, cacheControl: v.cacheControl, tombstone: v.tombstone,
  };
}

const memberKey = versionIdentity;

function setKey(versions: readonly FinalVersion[]): string {
  return versions.map(memberKey).sort().join('\n');
}

/**
 * Why write `op` lost its effect in final set `set`, or undefined if it kept
 * it. `noCopy` names (by versionIdentity) the live members whose body no node holds.
 */
export function whyLost(op: OpRecord, set: readonly FinalVersion[], noCopy: ReadonlySet<string> = new Set()): string | undefined {
  const clock = normalizeClock(op.clock ?? {});
  const present = set.find((v) => {
    const order = compareClocks(normalizeClock(v.clock), clock);
    if (order === 'after') return true;
    if (order !== 'equal') return false;
    return op.kind === 'delete' ? v.tombstone : !v.tombstone && v.sha256 === op.sha256;
  });
  if (present !== undefined) {
    const itself = op.kind === 'put' && compareClocks(normalizeClock(present.clock), clock) === 'equal';
    return itself && noCopy.has(versionIdentity(present)) ? 'its version survives, but no node holds its body' : undefined;
  }
  if (op.kind === 'delete') {
    const context = mergeClocks(...set.map((v) => normalizeClock(v.clock)));
    if (descends(context, clock) && set.some((v) => v.tombstone)) return undefined;
  }
  if (set.length === 0) return 'no node holds any version of the key';
  const sameClock = set.find((v) => compareClocks(normalizeClock(v.clock), clock) === 'equal');
  if (sameClock !== undefined) return `a version with the same clock but other content (${sameClock.tombstone ? 'tombstone' : sameClock.sha256}) replaced it`;
  return 'no final version equals or dominates its clock';
}

export function check(input: CheckInput): CheckReport {
  const report: CheckReport = {
    acknowledged: 0, acknowledgedPuts: 0, acknowledgedDeletes: 0, unverifiable: 0,
    lost: [], divergentKeys: [], wrongWinners: [], unexplainedVersions: [], partialBodies: [], staleFinalReads: [],
    ownerDisagreements: [], unconvergedBodies: [], copies: undefined, suspectKeys: [], ok: false,
  };
  const suspects = new Set<string>();
  /** key → writeId → sha256 of every PUT a client attempted */
  const written = new Map<string, Map<string, string>>();
  for (const op of input.history) {
    if (op.kind !== 'put' || op.writeId === undefined || op.sha256 === undefined) continue;
    let m = written.get(op.key);
    if (m === undefined) written.set(op.key, (m = new Map()));
    m.set(op.writeId, op.sha256);
  }
  const knownBody = (key: string, writeId: string | undefined): boolean => writeId !== undefined && (written.get(key)?.has(writeId) ?? false);

  // Bodies served during the run.
  for (const op of input.history) {
    if (op.kind !== 'get' || op.status !== 200) continue;
    const problem = op.problem ?? (knownBody(op.key, op.servedWriteId) ? undefined : `served write ${op.servedWriteId ?? '?'}, which no client wrote to this key`);
    if (problem !== undefined) {
      report.partialBodies.push({ key: op.key, node: op.node, problem, when: 'run' });
      suspects.add(op.key);
    }
  }

  // Agreement, canonical sets, and where each key's versions came from.
  const agreed = new Map<string, readonly FinalVersion[]>();
  const noCopy = new Map<string, ReadonlySet<string>>();
  for (const [key, states] of input.final) {
    const first = states[0];
    if (first === undefined) continue;
    const reference = setKey(first.versions);
    for (const s of states.slice(1)) {
      if (setKey(s.versions) !== reference) {
        report.divergentKeys.push({ key, why: `node ${first.node} holds {${first.versions.map(memberKey).join(', ')}}, node ${s.node} holds {${s.versions.map(memberKey).join(', ')}}` });
        suspects.add(key);
        break;
      }
      if (s.versions[0] !== undefined && first.versions[0] !== undefined && memberKey(s.versions[0]) !== memberKey(first.versions[0])) {
        report.divergentKeys.push({ key, why: `node ${first.node} and node ${s.node} name different winners` });
        suspects.add(key);
        break;
      }
    }
    for (const s of states) {
      const given = s.versions.map((v) => toVersion(key, v));
      const canonical = toSiblingSet(given);
      if (canonical.length !== given.length || canonical.some((v, i) => !sameVersion(v, given[i] as Version))) {
        report.wrongWinners.push({ key, why: `node ${s.node}'s set is not canonical (a member superseded, or not the SPEC §5 winner first)` });
        suspects.add(key);
      }
    }
    const gaps = placementGaps(key, states, { nodeIds: input.nodeIds, ownersPerBody: input.ownersPerBody });
    report.ownerDisagreements.push(...gaps.ownerDisagreements);
    report.unconvergedBodies.push(...gaps.unplacedBodies);
    if (gaps.ownerDisagreements.length > 0 || gaps.unplacedBodies.length > 0) suspects.add(key);
    noCopy.set(key, gaps.noCopy);
    for (const n of gaps.copies) {
      report.copies = report.copies === undefined ? { min: n, max: n } : { min: Math.min(report.copies.min, n), max: Math.max(report.copies.max, n) };
    }
    for (const v of first.versions) {
      if (v.tombstone) {
        if (v.sha256 !== EMPTY_SHA256) report.unexplainedVersions.push({ key, sha256: v.sha256 });
        continue;
      }
      if (![...(written.get(key)?.values() ?? [])].includes(v.sha256)) {
        report.unexplainedVersions.push({ key, sha256: v.sha256 });
        suspects.add(key);
      }
    }
    agreed.set(key, first.versions);
  }

  // No acknowledged write lost.
  for (const op of input.history) {
    if (op.kind === 'get' || op.outcome !== 'ok') continue;
    if (op.clock === undefined) {
      report.unverifiable++;
      continue;
    }
    report.acknowledged++;
    if (op.kind === 'put') report.acknowledgedPuts++;
    else report.acknowledgedDeletes++;
    const why = whyLost(op, agreed.get(op.key) ?? [], noCopy.get(op.key));
    if (why !== undefined) {
      report.lost.push({ key: op.key, op, why });
      suspects.add(op.key);
    }
  }

  // Final reads answer the winner everywhere.
  for (const r of input.finalReads) {
    const winner = agreed.get(r.key)?.[0];
    const expectLive = winner !== undefined && !winner.tombstone;
    let why: string | undefined;
    if (r.status === 200) {
      if (r.problem !== undefined || !knownBody(r.key, r.servedWriteId)) {
        report.partialBodies.push({ key: r.key, node: r.node, problem: r.problem ?? `served write ${r.servedWriteId ?? '?'}, which no client wrote to this key`, when: 'final' });
        suspects.add(r.key);
        continue;
      }
      const servedSha = r.servedSha256 ?? written.get(r.key)?.get(r.servedWriteId as string);
      if (!expectLive) why = `served write ${r.servedWriteId ?? '?'} but the key is ${winner === undefined ? 'unknown' : 'deleted'}`;
      else if (servedSha !== winner.sha256) why = `served write ${r.servedWriteId ?? '?'} (sha256 ${servedSha ?? '?'}), not the winner ${winner.sha256}`;
    } else if (r.status === 404) {
      if (expectLive) why = `404 but the winner is ${winner.sha256}`;
    } else {
      why = `answered ${r.status}`;
    }
    if (why !== undefined) {
      report.staleFinalReads.push({ key: r.key, node: r.node, why });
      suspects.add(r.key);
    }
  }

  report.suspectKeys = [...suspects].sort();
  report.ok = report.lost.length === 0 && report.divergentKeys.length === 0 && report.wrongWinners.length === 0
    && report.unexplainedVersions.length === 0 && report.partialBodies.length === 0 && report.staleFinalReads.length === 0
    && report.ownerDisagreements.length === 0 && report.unconvergedBodies.length === 0;
  return report;
}

/** One key's full story, for the report of a failed run: every operation on it, then every node's final versions. */
export function keyHistory(key: string, input: CheckInput): string[] {
  const lines = [`history of key ${key}:`];
  for (const op of input.history.filter((o) => o.key === key).sort((a, b) => a.startMs - b.startMs || a.seq - b.seq)) {
    const clock = op.clock === undefined ? '' : ` clock=${JSON.stringify(op.clock)}`;
    const context = op.context === undefined ? '' : ` context=${JSON.stringify(op.context)}`;
    const what = op.kind === 'put' ? ` write=${op.writeId ?? '?'} sha256=${op.sha256?.slice(0, 12) ?? '?'} size=${op.size ?? '?'}`
      : op.kind === 'get' && op.status === 200 ? ` served=${op.servedWriteId ?? '?'}${op.problem === undefined ? '' : ` PROBLEM: ${op.problem}`}` : '';
    lines.push(`  #${op.seq} [${op.startMs}..${op.endMs} ms] client ${op.client} → node ${op.node}: ${op.kind.toUpperCase()} ${op.outcome}${op.status === undefined ? '' : ` ${op.status}`}${what}${clock}${context}${op.error === undefined ? '' : ` (${op.error})`}`);
  }
  for (const s of input.final.get(key) ?? []) {
    lines.push(`  final on node ${s.node}: ${s.versions.length === 0 ? 'no versions (404)' : s.versions.map((v) => `${v.tombstone ? 'TOMBSTONE' : v.sha256.slice(0, 12)} clock=${JSON.stringify(v.clock)} origin=${v.origin} hlc=${v.hlc.wall}.${v.hlc.logical}${v.bodyHeld ? '' : ' (body not held)'}${v.owners === undefined ? '' : ` owners=${v.owners.join(',')}`}`).join(' | ')}`);
  }
  for (const r of input.finalReads.filter((f) => f.key === key)) {
    lines.push(`  final read on node ${r.node}: ${r.status}${r.servedWriteId === undefined ? '' : ` write=${r.servedWriteId}`}${r.problem === undefined ? '' : ` PROBLEM: ${r.problem}`}`);
  }
  return lines;
}
