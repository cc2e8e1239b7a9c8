/** Runs the registry contract on the in-process registry and on real Redis. */
import { afterAll, beforeAll } from 'vitest';
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
