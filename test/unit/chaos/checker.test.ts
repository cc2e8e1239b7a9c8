/**
 * The chaos checker on hand-made histories: ones that must pass, and ones
 * that must report a loss, a divergence, a wrong winner or a partial body;
 * then placement: bodies held by their owners, not by every node.
 */
import { describe, expect, it } from 'vitest';
import { check, keyHistory, type CheckInput } from '../../../tools/chaos/checker.js';
import type { FinalKeyState, FinalRead, FinalVersion, OpRecord } from '../../../tools/chaos/history.js';

const K = '0b7f3a64-2c1e-4f5a-9a2b-3c4d5e6f7a8b';
const A = 'n00000000000000aa';
const B = 'n00000000000000bb';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const sha = (c: string): string => c.repeat(64);
/** the run's node ids, node i is NODE_IDS[i] */
const NODE_IDS = ['n0000000000000000', 'n0000000000000001', 'n0000000000000002', 'n0000000000000003', 'n0000000000000004'];

let seq = 0;
function put(writeId: string, shaChar: string, clock: Record<string, number> | undefined, outcome: OpRecord['outcome'] = 'ok', node = 0): OpRecord {
  return { seq: seq++, client: 0, node, kind: 'put', key: K, startMs: seq * 10, endMs: seq * 10 + 5, outcome, status: outcome === 'ok' ? 201 : undefined, writeId, sha256: sha(shaChar), size: 10, clock };
}
function del(clock: Record<string, number> | undefined, node = 0): OpRecord {
  return { seq: seq++, client: 0, node, kind: 'delete', key: K, startMs: seq * 10, endMs: seq * 10 + 5, outcome: 'ok', status: 204, clock };
}
function get(servedWriteId: string, problem?: string): OpRecord {
  return { seq: seq++, client: 1, node: 1, kind: 'get', key: K, startMs: seq * 10, endMs: seq * 10 + 5, outcome: 'ok', status: 200, servedWriteId, problem };
}
function version(shaChar: string | 'tomb', clock: Record<string, number>, origin: string, wall: number): FinalVersion {
  const tomb = shaChar === 'tomb';
  return { sha256: tomb ? EMPTY : sha(shaChar), tombstone: tomb, clock, origin, hlc: { wall, logical: 0 }, size: tomb ? 0 : 10,
    contentType: tomb ? 'application/x-gossip-cdn-tombstone' : 'application/octet-stream', bodyHeld: true };
}
function everywhere(versions: FinalVersion[], nodes = 3): FinalKeyState[] {
  return Array.from({ length: nodes }, (_, node) => ({ node, versions }));
}
function reads(status: number, writeId?: string, nodes = 3): FinalRead[] {
  return Array.from({ length: nodes }, (_, node) => ({ node, key: K, status, servedWriteId: writeId }));
}
function input(history: OpRecord[], states: FinalKeyState[], finalReads: FinalRead[], ownersPerBody?: number): CheckInput {
  return { history, final: new Map([[K, states]]), finalReads, nodeIds: NODE_IDS.slice(0, Math.max(3, states.length)), ...(ownersPerBody === undefined ? {} : { ownersPerBody }) };
}
/** Five nodes that all know `v` with owners `owners` (node indexes); only `holders` hold its body. */
function placed(v: FinalVersion, owners: number[], holders: number[], nodes = 5): FinalKeyState[] {
  return Array.from({ length: nodes }, (_, node) => ({ node, versions: [{ ...v, owners: owners.map((i) => NODE_IDS[i] as string), bodyHeld: holders.includes(node) }] }));
}

describe('the chaos checker passes', () => {
  it('an overwrite that supersedes the first write', () => {
    const r = check(input([put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [A]: 2 }), get('w1')],
      everywhere([version('b', { [A]: 2 }, A, 2000)]), reads(200, 'w2')));
    expect(r).toMatchObject({ ok: true, acknowledged: 2, lost: [] });
  });

  it('two concurrent writes kept as siblings, the SPEC winner first', () => {
    const r = check(input([put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [B]: 1 }, 'ok', 1)],
      everywhere([version('b', { [B]: 1 }, B, 2000), version('a', { [A]: 1 }, A, 1000)]), reads(200, 'w2')));
    expect(r.ok).toBe(true);
    expect(r.acknowledged).toBe(2);
  });

  it('a write superseded by a later write whose answer was lost', () => {
    const r = check(input([put('w1', 'a', { [A]: 1 }), put('w2', 'b', undefined, 'unknown')],
      everywhere([version('b', { [A]: 2 }, A, 2000)]), reads(200, 'w2')));
    expect(r).toMatchObject({ ok: true, acknowledged: 1 });
  });

  it('a delete after a put, and a repeated delete of a deleted key with a concurrent live sibling', () => {
    const history = [put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [B]: 1 }, 'ok', 1), del({ [A]: 2 }), del({ [A]: 2, [B]: 1 })];
    const r = check(input(history, everywhere([version('tomb', { [A]: 2 }, A, 3000), version('b', { [B]: 1 }, B, 2000)]), reads(404)));
    expect(r).toMatchObject({ ok: true, acknowledged: 4, lost: [] });
  });

  it('a delete answered without a clock is unverifiable, not lost', () => {
    const r = check(input([put('w1', 'a', { [A]: 1 }), del(undefined)], everywhere([version('a', { [A]: 1 }, A, 1000)]), reads(200, 'w1')));
    expect(r).toMatchObject({ ok: true, acknowledged: 1, unverifiable: 1 });
  });
});

describe('the chaos checker reports', () => {
  it('a lost write: an acknowledged version neither present nor dominated', () => {
    const history = [put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [B]: 1 }, 'ok', 1)];
    const states = everywhere([version('b', { [B]: 1 }, B, 2000)]);
    const r = check(input(history, states, reads(200, 'w2')));
    expect(r.ok).toBe(false);
    expect(r.lost).toHaveLength(1);
    expect(r.lost[0]?.op.writeId).toBe('w1');
    expect(r.suspectKeys).toEqual([K]);
    expect(keyHistory(K, input(history, states, reads(200, 'w2'))).join('\n')).toContain('write=w1');
  });

  it('a lost write when no node holds the key at all', () => {
    const r = check(input([put('w1', 'a', { [A]: 1 })], everywhere([]), reads(404)));
    expect(r.lost[0]?.why).toContain('no node holds');
  });

  it('a lost delete: the key came back with an older version', () => {
    const r = check(input([put('w1', 'a', { [A]: 1 }), del({ [A]: 2 })], everywhere([version('a', { [A]: 1 }, A, 1000)]), reads(200, 'w1')));
    expect(r.lost.map((l) => l.op.kind)).toEqual(['delete']);
  });

  it('a version with the acknowledged clock but other content', () => {
    const r = check(input([put('w1', 'a', { [A]: 1 }), put('w2', 'b', undefined, 'unknown')], everywhere([version('b', { [A]: 1 }, A, 1000)]), reads(200, 'w2')));
    expect(r.lost[0]?.why).toContain('same clock');
  });

  it('divergence: nodes holding different sets', () => {
    const states: FinalKeyState[] = [
      { node: 0, versions: [version('b', { [A]: 2 }, A, 2000)] },
      { node: 1, versions: [version('a', { [A]: 1 }, A, 1000)] },
    ];
    const r = check(input([put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [A]: 2 })], states, reads(200, 'w2', 1)));
    expect(r.divergentKeys).toHaveLength(1);
    expect(r.ok).toBe(false);
  });

  it('a wrong winner, and a superseded member kept', () => {
    const history = [put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [B]: 1 }, 'ok', 1)];
    const wrongOrder = check(input(history, everywhere([version('a', { [A]: 1 }, A, 1000), version('b', { [B]: 1 }, B, 2000)]), reads(200, 'w1')));
    expect(wrongOrder.wrongWinners.length).toBeGreaterThan(0);
    const superseded = check(input([put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [A]: 2 })],
      everywhere([version('b', { [A]: 2 }, A, 2000), version('a', { [A]: 1 }, A, 1000)]), reads(200, 'w2')));
    expect(superseded.wrongWinners.length).toBeGreaterThan(0);
  });

  it('partial bodies served during the run and after, and bodies no client wrote', () => {
    const history = [put('w1', 'a', { [A]: 1 }), get('w1', 'payload of 10 bytes, header says 20'), get('w9')];
    const finals: FinalRead[] = [{ node: 0, key: K, status: 200, servedWriteId: 'w1', problem: 'payload sha256 does not match' }, ...reads(200, 'w1', 3).slice(1)];
    const r = check(input(history, everywhere([version('a', { [A]: 1 }, A, 1000)]), finals));
    expect(r.partialBodies.map((p) => p.when)).toEqual(['run', 'run', 'final']);
    expect(r.ok).toBe(false);
  });

  it('stale final reads, unconverged bodies and unexplained versions', () => {
    const history = [put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [A]: 2 })];
    const held = version('b', { [A]: 2 }, A, 2000);
    const states: FinalKeyState[] = [{ node: 0, versions: [held] }, { node: 1, versions: [{ ...held, bodyHeld: false }] }];
    const r = check(input(history, states, [{ node: 0, key: K, status: 200, servedWriteId: 'w1' }, { node: 1, key: K, status: 404 }]));
    expect(r.staleFinalReads).toHaveLength(2);
    expect(r.unconvergedBodies).toEqual([{ key: K, sha256: sha('b'), node: 1 }]);
    const stranger = check(input(history, everywhere([version('c', { [A]: 3 }, A, 3000)]), reads(404)));
    expect(stranger.unexplainedVersions).toEqual([{ key: K, sha256: sha('c') }]);
  });
});

describe('the chaos checker with placement (R of N nodes own each body)', () => {
  const history = [put('w1', 'a', { [A]: 1 }), put('w2', 'b', { [A]: 2 })];
  const winner = version('b', { [A]: 2 }, A, 2000);

  it('passes when the owners hold the body, non-owners do not, and every node serves it', () => {
    const r = check(input(history, placed(winner, [0, 2, 4], [0, 2, 4]), reads(200, 'w2', 5), 3));
    expect(r).toMatchObject({ ok: true, acknowledged: 2, lost: [], ownerDisagreements: [], unconvergedBodies: [], copies: { min: 3, max: 3 } });
  });

  it('reports an owner that does not hold the body, whoever else does', () => {
    const r = check(input(history, placed(winner, [0, 2, 4], [0, 1, 2, 3]), reads(200, 'w2', 5), 3));
    expect(r.ok).toBe(false);
    expect(r.unconvergedBodies).toEqual([{ key: K, sha256: sha('b'), node: 4 }]);
    expect(r.lost).toEqual([]);
    expect(r.suspectKeys).toEqual([K]);
  });

  it('reports the owners of a live sibling too, not only of the winner', () => {
    const sibling = version('a', { [B]: 1 }, B, 1000);
    const states: FinalKeyState[] = placed(winner, [0, 1, 2], [0, 1, 2]).map((s) => ({
      node: s.node, versions: [...s.versions, { ...sibling, owners: [NODE_IDS[2], NODE_IDS[3], NODE_IDS[4]] as string[], bodyHeld: s.node === 2 || s.node === 3 }],
    }));
    const r = check(input([put('w1', 'a', { [B]: 1 }, 'ok', 1), put('w2', 'b', { [A]: 2 })], states, reads(200, 'w2', 5), 3));
    expect(r.unconvergedBodies).toEqual([{ key: K, sha256: sha('a'), node: 4 }]);
    expect(r.copies).toEqual({ min: 2, max: 3 });
  });

  it('reports nodes naming different owners, an owner that is no node of the run, and the wrong number of owners', () => {
    const states = placed(winner, [0, 1, 2], [0, 1, 2]);
    states[3] = { node: 3, versions: [{ ...winner, owners: [NODE_IDS[0], NODE_IDS[1], NODE_IDS[3]] as string[], bodyHeld: false }] };
    const differ = check(input(history, states, reads(200, 'w2', 5), 3));
    expect(differ.ownerDisagreements).toHaveLength(1);
    expect(differ.ownerDisagreements[0]?.why).toContain('node 3 names');
    expect(differ.ok).toBe(false);

    const stranger = placed(winner, [0, 1], [0, 1]).map((s) => ({ node: s.node, versions: s.versions.map((v) => ({ ...v, owners: [...(v.owners ?? []), 'n00000000000000ff'] })) }));
    const unknown = check(input(history, stranger, reads(200, 'w2', 5), 3));
    expect(unknown.ownerDisagreements.map((d) => d.why)).toEqual([expect.stringContaining('n00000000000000ff, which is no node of this run')]);

    const two = check(input(history, placed(winner, [0, 1], [0, 1]), reads(200, 'w2', 5), 3));
    expect(two.ownerDisagreements.map((d) => d.why)).toEqual([expect.stringContaining('names 2 owners, the run places each body on 3')]);
  });

  it('counts an acknowledged write as lost when its version survives but no node holds its body', () => {
    const r = check(input(history, placed(winner, [0, 2, 4], []), reads(503, undefined, 5), 3));
    expect(r.lost.map((l) => [l.op.writeId, l.why])).toEqual([['w2', 'its version survives, but no node holds its body']]);
    expect(r.unconvergedBodies.map((b) => b.node)).toEqual([0, 2, 4]);
    expect(r.copies).toEqual({ min: 0, max: 0 });
  });

  it('reports a final read whose bytes are not the winner\'s, on any node', () => {
    const finals = reads(200, 'w2', 5).map((f) => (f.node === 3 ? { ...f, servedSha256: sha('a') } : { ...f, servedSha256: sha('b') }));
    const r = check(input(history, placed(winner, [0, 2, 4], [0, 2, 4]), finals, 3));
    expect(r.staleFinalReads).toEqual([{ key: K, node: 3, why: expect.stringContaining(`not the winner ${sha('b')}`) }]);
  });
});
