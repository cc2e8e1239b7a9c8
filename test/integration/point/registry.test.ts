/** Runs the registry contract on the in-process registry and on real Redis. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { MemoryRegistry } from '../../../src/bootstrap/memory-registry.js';
import { RedisRegistry } from '../../../src/bootstrap/redis-registry.js';
import { silentLogger } from '../../../src/log.js';
import { dropPrefix, redisForTests, uniquePrefix, type Service } from '../../helpers/services.js';
import { fakeClock, registryContract } from './registry-contract.js';

let redis: Service;
beforeAll(async () => { redis = await redisForTests(); });
afterAll(async () => { await redis.close(); });

registryContract('in-process', async () => {
  const clock = fakeClock();
  return { registry: new MemoryRegistry({ clock }), clock, cleanup: async () => undefined };
});

registryContract('redis', async () => {
  const clock = fakeClock();
  const prefix = uniquePrefix();
  const registry = new RedisRegistry({ url: redis.url, prefix, commandTimeoutMs: 2000, logger: silentLogger(), clock });
  await registry.start();
  return {
    registry, clock,
    cleanup: async () => {
      await registry.stop();
      await dropPrefix(redis.url, prefix);
    },
  };
});

describe('redis registry: what a heartbeat racing a removal can leave behind', () => {
  test('a partial hash (only seen/expires) is invisible and swept once it lapses', async () => {
    const clock = fakeClock();
    const prefix = uniquePrefix();
    const registry = new RedisRegistry({ url: redis.url, prefix, commandTimeoutMs: 2000, logger: silentLogger(), clock });
    await registry.start();
    const raw = new Redis(redis.url);
    try {
      const observer = generateIdentity();
      await registry.register({ id: observer.id, ip: '10.0.0.1', port: 7000, publicKey: observer.publicKey, sessionKey: 'observer-key' }, 30_000);
      // exactly what heartbeat's MULTI writes when the node was removed just before it
      await raw.multi().hset(`${prefix}node:nghost00000000000`, { seen: String(clock()), expires: String(clock() + 30_000) })
        .zadd(`${prefix}expiry`, clock() + 30_000, 'nghost00000000000').exec();
      expect(await registry.get('nghost00000000000')).toBeUndefined();
      expect(await registry.look('observer-key', 10)).toEqual([]);
      expect(await registry.heartbeat('nghost00000000000', 30_000)).toBe(false);
      clock.advance(30_001);
      expect(await registry.sweep(100)).toBe(2);
      expect(await raw.exists(`${prefix}node:nghost00000000000`)).toBe(0);
      expect(await raw.zcard(`${prefix}expiry`)).toBe(0);
    } finally {
      raw.disconnect();
      await registry.stop();
      await dropPrefix(redis.url, prefix);
    }
  });
});

describe('redis registry: what Redis holds', () => {
  test('no session key is stored in a form that works against the Point', async () => {
    const prefix = uniquePrefix();
    const registry = new RedisRegistry({ url: redis.url, prefix, commandTimeoutMs: 2000, logger: silentLogger() });
    await registry.start();
    const raw = new Redis(redis.url);
    try {
      const node = generateIdentity();
      const sessionKey = 'a-session-key-that-must-not-leak-into-redis';
      await registry.register({ id: node.id, ip: '10.0.0.1', port: 7000, publicKey: node.publicKey, sessionKey }, 30_000);
      expect((await registry.authenticate(sessionKey))?.id).toBe(node.id);
      const keys = await raw.keys(`${prefix}*`);
      let everything = keys.join('\n');
      for (const key of keys) {
        const type = await raw.type(key);
        if (type === 'hash') everything += JSON.stringify(await raw.hgetall(key));
        if (type === 'string') everything += await raw.get(key);
      }
      expect(everything).not.toContain(sessionKey);
      expect(await registry.authenticate(createHash('sha256').update(sessionKey).digest('base64url'))).toBeUndefined();
    } finally {
      raw.disconnect();
      await registry.stop();
      await dropPrefix(redis.url, prefix);
    }
  });
});
