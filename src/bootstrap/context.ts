/**
 * What the Point's HTTP layer is handed: its config, its two backends and the
 * few helpers around them. Nobody gets "the server" object.
 */
import type { Logger } from '../log.js';
import type { BanCache } from './ban-cache.js';
import type { Banlist } from './banlist.js';
import type { PointConfig } from './config.js';
import type { PointMetrics } from './metrics.js';
import type { Registry } from './registry.js';
import type { RateLimiter } from '../rate-limit/limiter.js';

export interface PointContext {
  readonly config: PointConfig;
  readonly registry: Registry;
  readonly registryKind: 'redis' | 'memory';
  readonly banlist: Banlist;
  readonly banlistKind: 'postgres' | 'pglite';
  readonly banCache: BanCache;
  readonly metrics: PointMetrics;
  readonly logger: Logger;
  /** new session keys; injectable for tests */
  readonly newSessionKey: () => string;
  /** per address: /reg, /reg/challenge, /ban and /remove */
  readonly limiter: RateLimiter;
  /** uniform in [0, 1), for sampling peer Points */
  readonly random: () => number;
}
