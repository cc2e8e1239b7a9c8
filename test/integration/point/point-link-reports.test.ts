/**
 * A node's reports of bad peers reach the Point even when they are made
 * while the node cannot report (not registered yet, or the Point was away):
 * PointLink keeps them and sends them once it is registered. A lost report
 * would leave a ban short of its quorum. Real Point, real Redis and PostgreSQL.
 */
import { describe, expect, test } from 'vitest';
import { PointLink } from '../../../src/node/point-link.js';
import { POINT_LINK_OPTIONS } from '../../../src/node/point-link-config.js';
import { buildOptions } from '../../../src/options.js';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { silentLogger } from '../../../src/log.js';
import { waitFor } from '../../helpers/wait.js';
import { call, pointsOnRealBackends, registerNode } from './harness.js';

const backends = pointsOnRealBackends();

describe('PointLink reports', () => {
  test('a report made before the node registered is sent once it has, and counts toward the quorum', async () => {
    const url = await backends.point();
    const options = buildOptions(POINT_LINK_OPTIONS, { retry: { baseMs: 20, capMs: 200 } });
    const link = new PointLink(generateIdentity(), { urls: [url], port: 7000, localAddress: '127.0.0.2' }, options, silentLogger(), () => undefined);
    const victim = '127.0.0.9';
    link.reportBadPeer(victim, 'sent a body whose sha256 does not match');
    link.start();
    try {
      // A second reporter at another address: its report makes the quorum only if the link's report arrived.
      const other = await registerNode(url, '127.0.0.3');
      let last: unknown;
      await waitFor(async () => {
        const probe = await call(url, 'POST', '/ban', { from: other.ip, body: { key: other.key, ip: victim, reason: 'also seen' } });
        last = probe.json;
        return probe.status === 200 && (probe.json as { banned: boolean }).banned;
      }, { what: "the link's queued report to reach the Point", timeoutMs: 20_000, intervalMs: 100 });
      expect(last).toMatchObject({ ip: victim, reports: 2, banned: true });
      expect(link.state).toBe('registered');
    } finally {
      await link.stop();
    }
  });
});
