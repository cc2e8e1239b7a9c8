/**
 * The node's HTTP server limits (`server.*` under the node), declared once
 * for the options module (src/options.ts). Two are flags
 * (`--max-connections`, `--headers-timeout`), so their rules read strings as
 * numbers and their messages speak to the person who typed them.
 */
import { z } from 'zod';
import { defineOptions, integerIn } from '../options.js';

export interface ServerLimits {
  /**
   * Time a connection gets to send complete request headers (slowloris
   * bound); idle fresh connections are closed after it too. Checked every
   * quarter of it (at least 100 ms, at most 30 s). Longer tolerates slower
   * clients; shorter frees sockets held by idle attackers sooner.
   */
  readonly headersTimeoutMs: number;
  /**
   * An idle keep-alive connection is closed after this. Above the peers'
   * client keep-alive (transport.keepAliveTimeoutMs, 30 s) so they close
   * first; longer keeps warm connections for clients, one socket each.
   */
  readonly keepAliveTimeoutMs: number;
  /** Largest request head accepted (431 above it): bounds memory per connection before any route runs. */
  readonly maxHeaderBytes: number;
  /**
   * Open client connections (node:http maxConnections); beyond it new ones
   * are closed at once, so a connection flood costs a bounded number of
   * sockets. Each open connection costs one file descriptor and a few KiB.
   */
  readonly maxConnections: number;
}

const schema = z.strictObject({
  headersTimeoutMs: z.coerce.number({ error: 'must be whole milliseconds' }).int('must be whole milliseconds').min(100, 'must be at least 100 ms'),
  keepAliveTimeoutMs: integerIn(1, 600_000),
  maxHeaderBytes: integerIn(1_024, 1_048_576),
  maxConnections: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1'),
});

const production: ServerLimits = {
  headersTimeoutMs: 20_000,
  keepAliveTimeoutMs: 65_000,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 4096,
};

/** HTTP server limits: `server.*` under the node. localTest: as production (the security tests measure these bounds). */
export const SERVER_OPTIONS = defineOptions('server', schema satisfies z.ZodType<ServerLimits, unknown>, { production, localTest: production });
