/**
 * The version store seam's compliance suite (STYLE.md: one real
 * implementation and one in memory, one shared suite). The gossip core talks
 * to a `VersionStore`; in production that is the disk-backed BlobStore, in
 * the simulator and the core's unit tests the in-memory MemoryVersionStore
 * (tools/doubles). Both must answer the same way, or what the simulator
 * proves about the core would not hold for a real node. Each implementation's
 * test file calls `versionStoreCompliance` with a way to open a fresh store.
 */
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { EMPTY_SHA256 } from '../../src/consensus/schema.js';
import { compareWinner } from '../../src/consensus/versions.js';
import type { SiblingSet, Version, VectorClock } from '../../src/consensus/types.js';
import type { VersionStore } from '../../src/gossip/core/types.js';

export interface OpenedStore {
  readonly store: VersionStore;
  close(): Promise<void>;
}

const A = 'n00000000000000aa';
const B = 'n00000000000000bb';

let stamp = 1_700_000_000_000;

/** A version as a peer would send it (remote versions are built elsewhere and arrive whole). */
function version(key: string, clock: VectorClock, origin: string, body: string | null): Version {
  stamp += 1000;
  const tombstone = body === null;
  return Object.freeze({
    key,
    clock: Object.freeze({ ...clock }),
    timestamp: Object.freeze({ wall: stamp, logical: 0 }),
    origin,
    sha256: tombstone ? EMPTY_SHA256 : body.padEnd(64, '0'),
    size: tombstone ? 0 : 10,
    contentType: 'application/octet-stream',
    tombstone,
  });
}

/** What changed, as onChange reported it. */
function recordChanges(store: VersionStore): { key: string; set: SiblingSet }[] {
  const seen: { key: string; set: SiblingSet }[] = [];
  store.onChange((key, set) => seen.push({ key, set }));
  return seen;
}

const ids = (set: readonly Version[]): string[] => set.map((v) => `${v.origin}:${JSON.stringify(v.clock)}`);

export function versionStoreCompliance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`VersionStore compliance: ${name}`, () => {
    async function withStore(body: (store: VersionStore) => Promise<void>): Promise<void> {
      const opened = await open();
      try {
        await body(opened.store);
      } finally {
        await opened.close();
      }
    }

    it('starts empty: no siblings, no keys; the empty body is always held', () => withStore(async (store) => {
      expect(store.siblings(randomUUID())).toEqual([]);
      expect([...store.keys()]).toEqual([]);
      expect(store.hasBody(EMPTY_SHA256)).toBe(true);
    }));

    it('adopts a new version, lists its key, reports the change, and waits for its body', () => withStore(async (store) => {
      const changes = recordChanges(store);
      const key = randomUUID();
      const v = version(key, { [A]: 1 }, A, 'a1');
      expect(ids(await store.applyRemote([v]))).toEqual(ids([v]));
      expect(ids(store.siblings(key))).toEqual(ids([v]));
      expect([...store.keys()]).toEqual([key]);
      expect(changes.map((c) => [c.key, ids(c.set)])).toEqual([[key, ids([v])]]);
      expect(store.hasBody(v.sha256)).toBe(false);
    }));

    it('ignores a version it has, and one that an adopted version dominates', () => withStore(async (store) => {
      const key = randomUUID();
      const older = version(key, { [A]: 1 }, A, 'a1');
      const newer = version(key, { [A]: 2 }, A, 'a2');
      await store.applyRemote([newer]);
      const changes = recordChanges(store);
      expect(await store.applyRemote([newer])).toEqual([]);
      expect(await store.applyRemote([older])).toEqual([]);
      expect(ids(store.siblings(key))).toEqual(ids([newer]));
      expect(changes).toEqual([]);
    }));

    it('replaces what a newer version dominates', () => withStore(async (store) => {
      const key = randomUUID();
      const older = version(key, { [A]: 1 }, A, 'a1');
      const newer = version(key, { [A]: 1, [B]: 1 }, B, 'b1');
      await store.applyRemote([older]);
      expect(ids(await store.applyRemote([newer]))).toEqual(ids([newer]));
      expect(ids(store.siblings(key))).toEqual(ids([newer]));
    }));

    it('keeps concurrent versions as siblings, winner first, whatever order they arrive in', () => withStore(async (store) => {
      const [k1, k2] = [randomUUID(), randomUUID()];
      const make = (key: string): [Version, Version] => [version(key, { [A]: 1 }, A, 'a1'), version(key, { [B]: 1 }, B, 'b1')];
      const [x1, y1] = make(k1);
      const [x2, y2] = make(k2);
      await store.applyRemote([x1]);
      await store.applyRemote([y1]);
      await store.applyRemote([y2, x2]);
      const one = store.siblings(k1);
      const two = store.siblings(k2);
      // canonical order: the winner first (SPEC §5's rule), then the rest by the same rule
      expect(ids(one)).toEqual(ids([x1, y1].sort(compareWinner)));
      expect(ids(two)).toEqual(ids([x2, y2].sort(compareWinner)));
      expect(two.map((v) => v.origin)).toEqual(one.map((v) => v.origin));
    }));

    it('adopts from a batch only what survives it: a later version in the batch supersedes an earlier one', () => withStore(async (store) => {
      const key = randomUUID();
      const first = version(key, { [A]: 1 }, A, 'a1');
      const second = version(key, { [A]: 2 }, A, 'a2');
      const other = version(randomUUID(), { [B]: 1 }, B, 'b1');
      const adopted = await store.applyRemote([first, second, other]);
      expect(ids(adopted).sort()).toEqual(ids([second, other]).sort());
      expect(ids(store.siblings(key))).toEqual(ids([second]));
    }));

    it('a tombstone that dominates a live version replaces it; the key stays listed', () => withStore(async (store) => {
      const key = randomUUID();
      const live = version(key, { [A]: 1 }, A, 'a1');
      const tomb = version(key, { [A]: 2 }, A, null);
      await store.applyRemote([live]);
      expect(ids(await store.applyRemote([tomb]))).toEqual(ids([tomb]));
      const set = store.siblings(key);
      expect(set).toHaveLength(1);
      expect(set[0]?.tombstone).toBe(true);
      expect([...store.keys()]).toContain(key);
      expect(store.hasBody(tomb.sha256)).toBe(true);
    }));
  });
}
