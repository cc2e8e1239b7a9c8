/**
 * --advertise HOST:PORT is the address peers use to reach a node, so the
 * port the node registers with the Point (which peers learn from `look` and
 * `check`) must be the advertised one. It used to be the bound port, so a
 * node behind a port mapping or a proxy was handed out at an address that
 * bypassed (or missed) the mapping.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PointClient } from '../../../src/bootstrap/client.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { nextHost } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/net.js';
import { removeDir, tempDir } from '../../helpers/node.js';
import { startCli, stopAll, waitHealthy } from '../../helpers/process.js';
import { dropPrefix, freshDatabase, postgresForTests, redisForTests, uniquePrefix, type Service } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';

const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  await stopAll();
  for (const d of dirs) await removeDir(d);
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function services(): Promise<{ redisUrl: string; databaseUrl: string; prefix: string }> {
  const redis: Service = await redisForTests();
  cleanups.push(() => redis.close());
  const postgres: Service = await postgresForTests();
  cleanups.push(() => postgres.close());
  const db = await freshDatabase(postgres.url);
  cleanups.push(() => db.drop());
  const prefix = uniquePrefix();
  if (!redis.private) cleanups.push(() => dropPrefix(redis.url, prefix));
  return { redisUrl: redis.url, databaseUrl: db.url, prefix };
}

describe('--advertise', () => {
  it('registers the advertised port with the Point, not the bound one', async () => {
    const pointDir = await tempDir('gcdn-adv-point-');
    const nodeDir = await tempDir('gcdn-adv-node-');
    dirs.push(pointDir, nodeDir);
    const pointPort = await freePort();
    const { redisUrl, databaseUrl, prefix } = await services();
    const point = startCli(['bootstrap', '--host', '127.0.0.1', '--port', String(pointPort), '--data-dir', pointDir,
      '--redis-url', redisUrl, '--database-url', databaseUrl, '--redis-prefix', prefix]);
    const pointUrl = `http://127.0.0.1:${pointPort}`;
    await waitHealthy(point, `${pointUrl}/healthz`, 90_000);
    const host = nextHost();
    const port = await freePort(host);
    const advertisedPort = await freePort(host);
    const node = startCli(['node', '--host', host, '--port', String(port), '--advertise', `${host}:${advertisedPort}`,
      '--data-dir', nodeDir, '--bootstrap', pointUrl, '--gossip-profile', 'local-test']);
    await waitHealthy(node, `http://${host}:${port}/healthz`, 60_000);
    const view = (await (await fetch(`http://${host}:${port}/cluster`)).json()) as { id: string };

    const probe = new PointClient({ url: pointUrl, localAddress: '127.0.0.250', timeoutMs: 5000 });
    const me = generateIdentity();
    const reg = await probe.reg({ port: 9, ...me });
    try {
      const record = await waitFor(async () => probe.check(reg.key, view.id), { what: 'the node to register with the Point', timeoutMs: 30_000, intervalMs: 200 });
      expect(record).toMatchObject({ ip: host, port: advertisedPort });
    } finally {
      await probe.remove(reg.key, me.id).catch(() => undefined);
      await probe.close();
    }
  }, 240_000);
});
