/**
 * What the client commands print: the status table, and how a failed request
 * maps to one line and an exit code (3 when the node cannot be reached).
 */
import { describe, expect, it } from 'vitest';
import { renderCluster } from '../../../src/client/status.js';
import { ClientError, EXIT, requestFailure } from '../../../src/client/errors.js';
import type { ClusterView } from '../../../src/http/cluster-view.js';

const now = Date.parse('2026-01-01T00:01:00Z');
const view: ClusterView = {
  id: 'n0123456789abcdef',
  publicKey: 'k',
  address: '10.0.0.2:7000',
  startedAt: '2026-01-01T00:00:00.000Z',
  peers: [
    { id: 'nfedcba9876543210', address: '10.0.0.4:7000', state: 'suspect', incarnation: 1, lastContact: '2026-01-01T00:00:50.000Z', clockOffsetSeconds: 0.012 },
    { id: 'n1111111111111111', address: '10.0.0.3:7000', state: 'alive', incarnation: 0, lastContact: '2026-01-01T00:00:59.600Z', clockOffsetSeconds: null },
  ],
  clock: { limitSeconds: 300, peers: 1, peersBeyond: 0, medianOffsetSeconds: 0.012, disagrees: false },
  activeView: { maxPeers: 32, peers: ['nfedcba9876543210', 'n1111111111111111'], keptPeers: 2, connections: { kept: 2, oneOff: 0 } },
  blobs: { live: 3, keys: 4, bodies: 3, bytes: 3 * 1024 * 1024, quotaBytes: 1024 ** 3 },
  point: { url: 'http://point:8080', state: 'registered', lastError: null, known: ['http://point:8080'], failovers: 0 },
  replication: { samples: 0, lagMedianMs: null, lagMaxMs: null, conflictsDetected: 0, conflictsResolved: 0 },
  placement: {
    replicas: 3, zone: 'eu-1', writeCopies: 1, members: 3,
    owned: { bodies: 2, bytes: 2 * 1024 * 1024 }, cached: { bodies: 1, bytes: 1024 * 1024, limitBytes: 1024 ** 3 },
    handoff: { bodies: 0, bytes: 0 }, missing: { bodies: 1, bytes: 10 },
  },
};

describe('renderCluster', () => {
  it('names the current Point, the others it knows and its moves when it has several', () => {
    const several = renderCluster({ ...view, point: { url: 'http://b:8080', state: 'registered', lastError: null, known: ['http://a:8080', 'http://b:8080'], failovers: 1 } }, now);
    expect(several).toContain('Point    http://b:8080 (registered); also knows http://a:8080; moved 1 time\n');
  });

  it('names the node, its counts, and one aligned row per peer sorted by address', () => {
    const text = renderCluster(view, now);
    expect(text).toContain('node     n0123456789abcdef');
    expect(text).toContain('blobs    3 live keys, 3 bodies, 3MB of 1GB quota');
    expect(text).toContain('peers    1 suspect, 1 alive');
    expect(text).toContain('links    2 active peers (--max-peers 32), 2 kept connections');
    expect(text).toContain('placement replicas 3, zone eu-1: owns 2 bodies (2MB), caches 1 (1MB of 1GB), hand-off 0, to fetch 1');
    const rows = text.split('\n').filter((l) => /^n[0-9a-f]{16} /.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^n1111111111111111 {2}10\.0\.0\.3:7000 {2}alive {4}just now {6}—$/);
    expect(rows[1]).toMatch(/^nfedcba9876543210 {2}10\.0\.0\.4:7000 {2}suspect {2}10 s ago {6}\+0\.01 s$/);
    expect(text).not.toContain('clock    ');
    expect(text).toContain('Point    http://point:8080 (registered)\n');
  });

  it('says when this node\'s clock disagrees with most of its peers', () => {
    const text = renderCluster({ ...view, clock: { limitSeconds: 300, peers: 2, peersBeyond: 2, medianOffsetSeconds: -3600.2, disagrees: true } }, now);
    expect(text).toContain('clock    3600 s ahead of 2 of 2 peers, past the limit of 300 s: check NTP');
  });

  it('says so when no peer is known', () => {
    expect(renderCluster({ ...view, peers: [] }, now)).toContain('peers    none known yet');
  });
});

describe('requestFailure', () => {
  it('a refused or timed-out connection is exit 3, naming the request', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const e = requestFailure('GET http://x/cluster', refused);
    expect(e.exitCode).toBe(EXIT.unreachable);
    expect(e.message).toBe('GET http://x/cluster: cannot reach the node: connect ECONNREFUSED 127.0.0.1:9');
    const happyEyeballs = new AggregateError([refused], '');
    expect(requestFailure('GET u', happyEyeballs).exitCode).toBe(EXIT.unreachable);
    const timeout = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(requestFailure('GET u', timeout).message).toContain('UND_ERR_HEADERS_TIMEOUT');
  });

  it('fetch\'s bare "fetch failed" shows its cause: what happened, and the exit code of it', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7000'), { code: 'ECONNREFUSED' });
    const e = requestFailure('GET u', new TypeError('fetch failed', { cause: refused }));
    expect(e.exitCode).toBe(EXIT.unreachable);
    expect(e.message).toBe('GET u: cannot reach the node: connect ECONNREFUSED 127.0.0.1:7000');
    const viaEyeballs = requestFailure('GET u', new TypeError('fetch failed', { cause: new AggregateError([refused], '') }));
    expect(viaEyeballs.message).toBe('GET u: cannot reach the node: connect ECONNREFUSED 127.0.0.1:7000');
    const badPort = requestFailure('GET u', new TypeError('fetch failed', { cause: new Error('bad port') }));
    expect(badPort.exitCode).toBe(EXIT.other);
    expect(badPort.message).toMatch(/^GET u: the port is one that fetch clients refuse/);
  });

  it('anything else is exit 1 on one line; a ClientError passes through', () => {
    const e = requestFailure('PUT u', new Error('first\nsecond'));
    expect(e.exitCode).toBe(EXIT.other);
    expect(e.message).toBe('PUT u: first');
    const own = new ClientError('x', EXIT.notFound);
    expect(requestFailure('GET u', own)).toBe(own);
  });
});
