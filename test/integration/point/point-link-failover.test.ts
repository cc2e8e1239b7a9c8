/**
 * The Point link's fail-over, in-process against real Points on real Redis
 * and PostgreSQL: two Points share one key prefix and one database; the link
 * registers with A, A stops, the link moves to B with a fresh registration,
 * and a report of a bad peer made while A was gone reaches B (a lost report
 * would leave the ban short of its quorum).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PointLink } from '../../../src/node/point-link.js';
import { POINT_LINK_OPTIONS } from '../../../src/node/point-link-config.js';
import { buildOptions } from '../../../src/options.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { silentLogger } from '../../../src/log.js';
import { buildPointConfig, POINT_LOCAL_TEST } from '../../../src/bootstrap/config.js';
import { startPoint, type RunningPoint } from '../../../src/bootstrap/server.js';
import { dropPrefix, freshDatabase, postgresForTests, redisForTests, uniquePrefix, type Service } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { call, closeAgents, registerNode } from './harness.js';

let redis: Service;
let postgres: Service;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([redisForTests(), postgresForTests()]);
});
afterAll(async () => {
  await closeAgents();
  await Promise.all([redis.close(), postgres.close()]);
});

test('a report made while the Point is dead reaches the Point the link moves to', { timeout: 60_000 }, async () => {
  const prefix = uniquePrefix();
  const db = await freshDatabase(postgres.url);
  // a 1 s TTL: heartbeats every ~333 ms, so the link notices a dead Point quickly
  const config = buildPointConfig({ redisUrl: redis.url, databaseUrl: db.url, redisPrefix: prefix, heartbeatTtlSec: 1 }, POINT_LOCAL_TEST);
  const b: RunningPoint = await startPoint(config);
  const a: RunningPoint = await startPoint(buildPointConfig({ peerPoints: [b.url] }, config));
  let aStopped = false;
  const options = buildOptions(POINT_LINK_OPTIONS, { retry: { baseMs: 20, capMs: 200 }, requestTimeoutMs: 500, failoverAfter: 2 });
  const link = new PointLink(generateIdentity(), { urls: [a.url, b.url], port: 7000, localAddress: '127.0.0.2' }, options, silentLogger(), () => undefined);
  link.start();
  try {
    await waitFor(() => link.state === 'registered', { what: 'the link to register with A', timeoutMs: 10_000, intervalMs: 20 });
    expect(link.url).toBe(a.url);
    await a.stop();
    aStopped = true;
    const victim = '127.0.0.9';
    link.reportBadPeer(victim, 'sent a body whose sha256 does not match');
    await waitFor(() => link.url === b.url && link.state === 'registered', { what: 'the link to move to B', timeoutMs: 20_000, intervalMs: 20 });
    expect(link.failovers).toBe(1);
    expect(link.known()).toEqual([a.url, b.url]);
    // a second reporter at B: its report makes the quorum only if the link's report reached B
    const other = await registerNode(b.url, '127.0.0.3');
    let last: unknown;
    await waitFor(async () => {
      const probe = await call(b.url, 'POST', '/ban', { from: other.ip, body: { key: other.key, ip: victim, reason: 'also seen' } });
      last = probe.json;
      return probe.status === 200 && (probe.json as { banned: boolean }).banned;
    }, { what: "the link's report to reach B", timeoutMs: 20_000, intervalMs: 100 });
    expect(last).toMatchObject({ ip: victim, reports: 2, banned: true });
  } finally {
    await link.stop();
    if (!aStopped) await a.stop();
    await b.stop();
    await db.drop().catch(() => undefined);
    await dropPrefix(redis.url, prefix).catch(() => undefined);
  }
});
