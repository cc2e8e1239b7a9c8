import { describe, expect, it } from 'vitest';
import { flagError } from '../../src/cli-support.js';
import { ConfigError } from '../../src/errors.js';

describe('flagError', () => {
  const flags = { quotaBytes: '--quota (DISK_QUOTA)', 'server.maxConnections': '--max-connections (MAX_CONNECTIONS)', peerPoints: '--peer-points (POINT_PEERS)' };

  it('tells a refused option as the flag and environment twin the user typed, with its rule', () => {
    expect((flagError(new ConfigError('quotaBytes', 'must be a positive size'), flags) as Error).message).toBe('--quota (DISK_QUOTA): must be a positive size');
    expect((flagError(new ConfigError('server.maxConnections', 'must be at least 1'), flags) as Error).message).toBe('--max-connections (MAX_CONNECTIONS): must be at least 1');
    // an element of a list the flag sets
    expect((flagError(new ConfigError('peerPoints.1', 'must be a URL'), flags) as Error).message).toBe('--peer-points (POINT_PEERS): must be a URL');
  });

  it('leaves options without a flag, and other errors, as they are', () => {
    const noFlag = new ConfigError('server.keepAliveTimeoutMs', 'must be an integer in [1, 600000]');
    expect(flagError(noFlag, flags)).toBe(noFlag);
    expect(flagError(new ConfigError('quotaBytesX', 'x'), flags)).toBeInstanceOf(ConfigError);
    const other = new Error('EADDRINUSE');
    expect(flagError(other, flags)).toBe(other);
  });
});
