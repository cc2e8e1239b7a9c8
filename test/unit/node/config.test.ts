import { describe, expect, it } from 'vitest';
import { buildNodeConfig, NODE_DEFAULTS, NODE_PROFILES, parseSize, type NodeConfigInput } from '../../../src/node/config.js';
import { ConfigError } from '../../../src/errors.js';
import { MEMBERSHIP_PROFILES } from '../../../src/gossip/core/membership-config.js';
import { DATA_PLANE_PROFILES } from '../../../src/gossip/core/data-plane-config.js';
import { BODY_FETCHER_OPTIONS, RUNTIME_OPTIONS, TRANSPORT_OPTIONS } from '../../../src/gossip/shell/runtime-config.js';
import { PLACEMENT_PROFILES } from '../../../src/gossip/core/placement-config.js';
import { SERVER_OPTIONS } from '../../../src/http/server-config.js';
import { POINT_LINK_OPTIONS } from '../../../src/node/point-link-config.js';

describe('sizes', () => {
  it('reads IEC and SI-looking units as powers of 1024 (regression: "2GiB" was read as 2 bytes)', () => {
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('2GB')).toBe(2 * 1024 ** 3);
    expect(parseSize('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5 kb')).toBe(1536);
    expect(parseSize('10')).toBe(10);
    expect(parseSize(4096)).toBe(4096);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['lots', '2 GiBs', '-1', '0', '1e9', '5 petabytes', '', 'GiB']) expect(parseSize(bad)).toBeUndefined();
  });

  it('the node config names the option on a bad size', () => {
    expect(() => buildNodeConfig({ maxBlobBytes: '2 lots' })).toThrow(/^maxBlobBytes: must be a positive size such as 1048576, 512MB or 5GiB$/);
    expect(buildNodeConfig({ maxBlobBytes: '2GiB', quotaBytes: '4GiB' })).toMatchObject({ maxBlobBytes: 2 * 1024 ** 3, quotaBytes: 4 * 1024 ** 3 });
  });
});

function refused(input: NodeConfigInput): ConfigError {
  try {
    buildNodeConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

const SUBSYSTEMS = {
  membership: MEMBERSHIP_PROFILES,
  dataPlane: DATA_PLANE_PROFILES,
  runtime: RUNTIME_OPTIONS.profiles,
  transport: TRANSPORT_OPTIONS.profiles,
  bodyFetcher: BODY_FETCHER_OPTIONS.profiles,
  pointLink: POINT_LINK_OPTIONS.profiles,
  server: SERVER_OPTIONS.profiles,
  placement: PLACEMENT_PROFILES,
} as const;

describe('node config', () => {
  it('production is the default, with the values the node always shipped (regression: knobs were literals in node.ts)', () => {
    const c = buildNodeConfig();
    expect(c).toEqual(NODE_DEFAULTS);
    expect(c).toMatchObject({
      profile: 'production', port: 7000, host: '127.0.0.1', bootstrapUrls: ['http://127.0.0.1:8080'], logLevel: 'info', alone: false,
      maxBlobBytes: 5 * 1024 ** 3, quotaBytes: 100 * 1024 ** 3, tombstoneGraceMs: 86_400_000, tombstoneSweepMs: 600_000,
      minUploadBytesPerSecond: 1024, stallWindowMs: 30_000, bodyCacheBytes: 256 * 1024 ** 2, bodyCacheItemBytes: 2 * 1024 ** 2,
      defaultCacheControl: 'public, max-age=60', shutdownGraceMs: 10_000, replicationLagSamples: 256,
      dataDir: 'gossip-cdn-data/node-7000',
      server: { headersTimeoutMs: 20_000, keepAliveTimeoutMs: 65_000, maxHeaderBytes: 16 * 1024, maxConnections: 4096 },
      pointLink: { lookIntervalMs: 30_000, lookCount: 16, retry: { baseMs: 250, capMs: 10_000 }, requestTimeoutMs: 2000, requestRetries: 1 },
      runtime: {
        persistEveryMs: 30_000, reportAfterBadMessages: 3, badMessageAddresses: 10_000, readThroughTimeoutMs: 30_000,
        lookupFanout: 6, lookupTimeoutMs: 1500, leaveFlushMs: 1500,
      },
      transport: { messageTimeoutMs: 2000, concurrencyPerPeer: 4, backlogPerPeer: 256, connectionsPerPeer: 8, keepAliveTimeoutMs: 30_000 },
      bodyFetcher: { concurrency: 4, maxQueued: 10_000, stallTimeoutMs: 10_000, maxRounds: 5, retryDelayMs: 2000, fallbackPeers: 3 },
    });
    expect(c.membership).toEqual(MEMBERSHIP_PROFILES.production);
    expect(c.dataPlane).toEqual(DATA_PLANE_PROFILES.production);
  });

  it('the local-test profile selects every subsystem\'s local-test profile at once, and changes nothing else', () => {
    for (const [section, profiles] of Object.entries(SUBSYSTEMS)) {
      expect(NODE_PROFILES.localTest[section as keyof typeof SUBSYSTEMS], section).toBe(profiles.localTest);
      expect(NODE_PROFILES.production[section as keyof typeof SUBSYSTEMS], section).toBe(profiles.production);
    }
    const local = buildNodeConfig({ profile: 'local-test' });
    const production = buildNodeConfig();
    for (const [section, profiles] of Object.entries(SUBSYSTEMS)) expect(local[section as keyof typeof SUBSYSTEMS], section).toEqual(profiles.localTest);
    const ownKeys = (c: object) => Object.fromEntries(Object.entries(c).filter(([k]) => !(k in SUBSYSTEMS) && k !== 'profile'));
    expect(ownKeys(local)).toEqual(ownKeys(production));
    expect(local.profile).toBe('local-test');
    // what --gossip-profile local-test switched before: membership, data plane, custody's sweep
    expect(local.membership.probeIntervalMs).toBe(500);
    expect(local.dataPlane.antiEntropyIntervalMs).toBe(100);
    expect(local.placement.sweepIntervalMs).toBe(500);
  });

  it('merges overrides onto the chosen profile, at any depth', () => {
    const c = buildNodeConfig({ profile: 'local-test', membership: { indirectChecks: 1 }, server: { maxConnections: '10' }, port: '7001' });
    expect(c.membership).toEqual({ ...MEMBERSHIP_PROFILES.localTest, indirectChecks: 1 });
    expect(c.server).toEqual({ ...SERVER_OPTIONS.profiles.localTest, maxConnections: 10 });
    expect([c.port, c.dataDir]).toEqual([7001, 'gossip-cdn-data/node-7001']);
    expect(buildNodeConfig({ server: { maxConnections: undefined } }).server.maxConnections).toBe(4096);
  });

  it('derives what follows from other options', () => {
    expect(buildNodeConfig({ quotaBytes: '1MB' }).maxBlobBytes).toBe(1024 ** 2);
    expect(buildNodeConfig({ dataDir: '/srv/n1' }).dataDir).toBe('/srv/n1');
  });

  it('refuses unknown options by their full path', () => {
    expect(refused({ maxBlobSize: 1 } as never).message).toBe('maxBlobSize: unknown option');
    expect(refused({ membership: { probeIntervalMS: 1 } } as never).message).toBe('membership.probeIntervalMS: unknown option');
    expect(refused({ pointLink: { retry: { capMS: 1 } } } as never).option).toBe('pointLink.retry.capMS');
  });

  it('names the option by its full path and its rule', () => {
    expect(refused({ membership: { probeTimeoutMs: 600 } }).message).toMatch(/^membership\.probeTimeoutMs: must be at most half of probeIntervalMs/);
    expect(refused({ dataPlane: { fanout: 0 } }).message).toBe('dataPlane.fanout: must be an integer in [1, 32]');
    expect(refused({ pointLink: { retry: { baseMs: 20_000 } } }).message).toBe('pointLink.retry.baseMs: must not exceed retry.capMs');
    expect(refused({ server: { headersTimeoutMs: '50' } }).message).toBe('server.headersTimeoutMs: must be at least 100 ms');
    expect(refused({ server: { maxConnections: 'many' } }).message).toBe('server.maxConnections: must be a whole number');
    expect(refused({ membership: { maxPeers: 2 } }).message).toBe('membership.maxPeers: must be at least 3 (two ring successors and one random peer)');
    expect(refused({ membership: { maxPeers: 4096 } }).message).toBe('membership.maxPeers: must be at most 4095 (the member table\'s size)');
    expect(refused({ membership: { maxPeers: Number.NaN } }).message).toBe('membership.maxPeers: must be a whole number');
    expect(buildNodeConfig({ membership: { maxPeers: 8 } }).membership.maxPeers).toBe(8);
    expect(buildNodeConfig().membership.maxPeers).toBe(32);
    expect(refused({ port: 'abc' }).message).toBe('port: must be a port number 0-65535');
    expect(refused({ port: '70000' }).option).toBe('port');
    expect(refused({ profile: 'fast' as never }).message).toBe('profile: must be production or local-test');
    expect(refused({ bootstrapUrls: 'ftp://x' }).message).toBe('bootstrapUrls: item 1 (ftp://x) must be an http(s) URL without query or fragment');
    expect(refused({ advertise: 'nohostport' }).message).toBe('advertise: must be HOST:PORT');
  });

  it('is frozen all the way down', () => {
    const c = buildNodeConfig({ profile: 'local-test' });
    for (const part of [c, c.server, c.pointLink, c.pointLink.retry, c.runtime, c.transport, c.bodyFetcher, c.membership, c.dataPlane]) expect(Object.isFrozen(part)).toBe(true);
    expect(Object.isFrozen(NODE_PROFILES.localTest)).toBe(true);
  });
});
