/**
 * The registry contract: every Registry implementation (Redis and in-process)
 * must pass these same tests. Time is a fake clock handed to the registry, so
 * TTL expiry is exact and instant; the Redis look script gets the same clock
 * through its arguments.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { generateIdentity } from '../../../src/identity/keystore.js';
import type { Registration, Registry } from '../../../src/bootstrap/registry.js';

export interface FakeClock {
  (): number;
  advance(ms: number): void;
}

export function fakeClock(start = 1_800_000_000_000): FakeClock {
  let now = start;
  const clock = (() => now) as FakeClock;
  clock.advance = (ms) => { now += ms; };
  return clock;
}

export interface RegistryHarness {
  registry: Registry;
  clock: FakeClock;
  cleanup(): Promise<void>;
}

const TTL = 30_000;
let keys = 0;

function registration(ip = '10.0.0.1', port = 7000): Registration {
  const { id, publicKey } = generateIdentity();
  keys++;
  return { id, ip, port, publicKey, sessionKey: `session-${keys}-${Math.random().toString(36).slice(2)}` };
}

export function registryContract(name: string, make: () => Promise<RegistryHarness>): void {
  describe(`registry contract: ${name}`, () => {
    let h: RegistryHarness;
    beforeEach(async () => { h = await make(); });
    afterEach(async () => { await h.cleanup(); });

    test('a registered node authenticates by its session key and is found by id', async () => {
      const reg = registration();
      await h.registry.register(reg, TTL);
      const byKey = await h.registry.authenticate(reg.sessionKey);
      expect(byKey).toMatchObject({ id: reg.id, ip: reg.ip, port: reg.port, publicKey: reg.publicKey, expiresAt: h.clock() + TTL });
      expect(await h.registry.get(reg.id)).toEqual(byKey);
      expect(await h.registry.authenticate('no-such-key')).toBeUndefined();
      expect(await h.registry.size()).toBe(1);
    });

    test('re-registering replaces the session key: the old one stops working', async () => {
      const reg = registration();
      await h.registry.register(reg, TTL);
      const again = { ...reg, ip: '10.0.0.2', sessionKey: `${reg.sessionKey}-new` };
      await h.registry.register(again, TTL);
      expect(await h.registry.authenticate(reg.sessionKey)).toBeUndefined();
      expect(await h.registry.look(reg.sessionKey, 5)).toBeUndefined();
      expect(await h.registry.look(again.sessionKey, 5)).toEqual([]);
      expect((await h.registry.authenticate(again.sessionKey))?.ip).toBe('10.0.0.2');
      expect(await h.registry.size()).toBe(1);
      expect(await h.registry.removeByIp('10.0.0.1')).toEqual([]);
    });

    test('look returns distinct live nodes, never the caller, never a session key', async () => {
      const regs = Array.from({ length: 12 }, (_, i) => registration('10.0.0.1', 7000 + i));
      for (const reg of regs) await h.registry.register(reg, TTL);
      const caller = regs[0]!;
      const some = (await h.registry.look(caller.sessionKey, 5))!;
      expect(some).toHaveLength(5);
      expect(new Set(some.map((n) => n.id)).size).toBe(5);
      for (const node of some) {
        expect(Object.keys(node).sort()).toEqual(['id', 'ip', 'port', 'publicKey']);
        expect(node.id).not.toBe(caller.id);
        expect(JSON.stringify(node)).not.toContain('session-');
      }
      const all = (await h.registry.look(caller.sessionKey, 100))!;
      expect(all.map((n) => n.id).sort()).toEqual(regs.slice(1).map((r) => r.id).sort());
      expect(all.find((n) => n.id === regs[3]!.id)).toEqual({ id: regs[3]!.id, ip: '10.0.0.1', port: 7003, publicKey: regs[3]!.publicKey });
    });

    test('look is random even on a small set: draws of one node reach every node (regression: SRANDMEMBER returns small sets in set order)', async () => {
      const regs = Array.from({ length: 6 }, () => registration());
      for (const reg of regs) await h.registry.register(reg, TTL);
      const seen = new Set<string>();
      for (let i = 0; i < 300 && seen.size < 5; i++) {
        for (const n of (await h.registry.look(regs[0]!.sessionKey, 1))!) seen.add(n.id);
      }
      expect(seen.size).toBe(5);
    });

    test('a node whose TTL lapses is neither live, nor seen, nor able to look, and the sweep trims it', async () => {
      const stale = registration('10.0.0.1');
      const fresh = registration('10.0.0.2');
      const observer = registration('10.0.0.3');
      await h.registry.register(stale, TTL);
      h.clock.advance(TTL / 2);
      await h.registry.register(fresh, TTL);
      await h.registry.register(observer, TTL);
      expect((await h.registry.look(stale.sessionKey, 10))?.length).toBe(2);
      h.clock.advance(TTL / 2);
      expect(await h.registry.authenticate(stale.sessionKey)).toBeUndefined();
      expect(await h.registry.get(stale.id)).toBeUndefined();
      expect(await h.registry.heartbeat(stale.id, TTL)).toBe(false);
      expect(await h.registry.look(stale.sessionKey, 10)).toBeUndefined();
      expect((await h.registry.look(observer.sessionKey, 10))?.map((n) => n.id)).toEqual([fresh.id]);
      expect(await h.registry.size()).toBe(3);
      expect(await h.registry.sweep(100)).toBe(1);
      expect(await h.registry.size()).toBe(2);
      expect(await h.registry.sweep(100)).toBe(0);
      expect(await h.registry.removeByIp('10.0.0.1')).toEqual([]);
    });

    test('a sweep removes at most its batch', async () => {
      for (let i = 0; i < 7; i++) await h.registry.register(registration(), TTL);
      h.clock.advance(TTL + 1);
      expect(await h.registry.sweep(3)).toBe(3);
      expect(await h.registry.size()).toBe(4);
      expect(await h.registry.sweep(100)).toBe(4);
      expect(await h.registry.size()).toBe(0);
    });

    test('heartbeats keep a node live past its first TTL', async () => {
      const reg = registration();
      await h.registry.register(reg, TTL);
      for (let i = 0; i < 3; i++) {
        h.clock.advance(TTL * 0.8);
        expect(await h.registry.heartbeat(reg.id, TTL)).toBe(true);
        expect(await h.registry.sweep(100)).toBe(0);
      }
      const record = await h.registry.authenticate(reg.sessionKey);
      expect(record?.expiresAt).toBe(h.clock() + TTL);
      expect(record?.lastSeen).toBe(h.clock());
      expect(record?.registeredAt).toBe(h.clock() - 3 * TTL * 0.8);
    });

    test('remove drops the record and its session; removeByIp drops only that address', async () => {
      const a = registration('10.0.0.1');
      const b = registration('10.0.0.1');
      const c = registration('10.0.0.2');
      const observer = registration('10.0.0.3');
      for (const reg of [a, b, c, observer]) await h.registry.register(reg, TTL);
      await h.registry.remove(c.id);
      expect(await h.registry.authenticate(c.sessionKey)).toBeUndefined();
      await h.registry.register(c, TTL);
      expect((await h.registry.removeByIp('10.0.0.1')).sort()).toEqual([a.id, b.id].sort());
      expect(await h.registry.authenticate(a.sessionKey)).toBeUndefined();
      expect((await h.registry.look(observer.sessionKey, 10))?.map((n) => n.id)).toEqual([c.id]);
      expect(await h.registry.size()).toBe(2);
    });

    test('unreachable reports need a quorum of distinct addresses within the window', async () => {
      const target = registration('10.0.0.9');
      await h.registry.register(target, TTL);
      for (let i = 0; i < 5; i++) {
        expect(await h.registry.reportUnreachable(target.id, '10.0.0.1', 2, 10_000)).toEqual({ reports: 1, removed: false });
      }
      h.clock.advance(10_001);
      expect(await h.registry.heartbeat(target.id, TTL)).toBe(true);
      expect(await h.registry.reportUnreachable(target.id, '10.0.0.2', 2, 10_000)).toEqual({ reports: 1, removed: false });
      expect(await h.registry.reportUnreachable(target.id, '10.0.0.3', 2, 10_000)).toEqual({ reports: 2, removed: true });
      expect(await h.registry.get(target.id)).toBeUndefined();
      expect(await h.registry.authenticate(target.sessionKey)).toBeUndefined();
    });

    test('registering again clears earlier unreachable reports', async () => {
      const target = registration('10.0.0.9');
      await h.registry.register(target, TTL);
      await h.registry.reportUnreachable(target.id, '10.0.0.1', 2, 10_000);
      await h.registry.register({ ...target, sessionKey: `${target.sessionKey}-2` }, TTL);
      expect(await h.registry.reportUnreachable(target.id, '10.0.0.2', 2, 10_000)).toEqual({ reports: 1, removed: false });
    });

    test('many concurrent registrations and looks all land', async () => {
      const regs = Array.from({ length: 100 }, (_, i) => registration(`10.0.${Math.floor(i / 50)}.${i % 50}`, 7000 + i));
      await Promise.all([
        ...regs.map((reg) => h.registry.register(reg, TTL)),
        ...regs.slice(0, 20).map((reg) => h.registry.look(reg.sessionKey, 5)),
      ]);
      expect(await h.registry.size()).toBe(100);
      const hearts = await Promise.all(regs.map((reg) => h.registry.heartbeat(reg.id, TTL)));
      expect(hearts.every(Boolean)).toBe(true);
      for (const reg of regs.slice(0, 10)) expect((await h.registry.authenticate(reg.sessionKey))?.id).toBe(reg.id);
    });
  });
}
