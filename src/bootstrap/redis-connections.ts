/**
 * How the Point talks to Redis without ever hanging a request: no offline
 * queue (a command issued while disconnected fails at once), a timeout on
 * every command, bounded reconnect backoff in the background. WATCH state
 * belongs to a connection, so optimistic transactions run on a small pool of
 * dedicated connections with a bounded wait queue; plain reads, pipelined
 * MULTI/EXEC and EVALSHA share the main connection.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { CdnError } from '../errors.js';
import type { Logger } from '../log.js';

export interface RedisConnectionOptions {
  url: string;
  commandTimeoutMs: number;
  /** dedicated connections for WATCH transactions */
  txConnections?: number;
  /** callers allowed to wait for a free transaction connection */
  maxWaiting?: number;
  logger: Logger;
}

/** Every Redis failure a request can see becomes one 503 naming Redis. */
export function redisUnavailable(err: unknown): CdnError {
  if (err instanceof CdnError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new CdnError('POINT_ERR_REDIS_UNAVAILABLE', `Redis is unavailable: ${reason}`, { cause: err });
}

function redisOptions(commandTimeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    // Reconnect for ever in the background, never more than 2 s apart.
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
  };
}

export class RedisConnections {
  readonly main: Redis;
  private readonly free: Redis[] = [];
  private readonly all: Redis[] = [];
  private readonly waiting: Array<(conn: Redis) => void> = [];
  private readonly maxWaiting: number;
  private lastErrorLog = 0;

  constructor(private readonly options: RedisConnectionOptions) {
    this.main = this.open('main');
    for (let i = 0; i < (options.txConnections ?? 4); i++) {
      const conn = this.open(`tx${i}`);
      this.all.push(conn);
      this.free.push(conn);
    }
    this.maxWaiting = options.maxWaiting ?? 1024;
  }

  /** Starts connecting; resolves once connected or once the first attempt failed (reconnects go on). */
  async connect(): Promise<void> {
    await Promise.all([this.main, ...this.all].map((c) => c.connect().catch(() => undefined)));
  }

  async close(): Promise<void> {
    for (const waiter of this.waiting.splice(0)) waiter(this.main);
    await Promise.all([this.main, ...this.all].map(async (c) => {
      try {
        await c.quit();
      } catch {
        c.disconnect();
      }
    }));
  }

  /** Runs `fn` on a dedicated connection (for WATCH); never leaves a WATCH behind. */
  async withTx<T>(fn: (conn: Redis) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    try {
      return await fn(conn);
    } finally {
      await conn.unwatch().catch(() => undefined);
      this.release(conn);
    }
  }

  private async acquire(): Promise<Redis> {
    const conn = this.free.pop();
    if (conn !== undefined) return conn;
    if (this.waiting.length >= this.maxWaiting) {
      throw new CdnError('POINT_ERR_REDIS_UNAVAILABLE', 'Redis is overloaded: too many transactions waiting');
    }
    return new Promise<Redis>((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new CdnError('POINT_ERR_REDIS_UNAVAILABLE', 'Redis is overloaded: no transaction connection free in time'));
      }, this.options.commandTimeoutMs);
      const waiter = (c: Redis): void => {
        clearTimeout(timer);
        resolve(c);
      };
      this.waiting.push(waiter);
    });
  }

  private release(conn: Redis): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(conn);
    else this.free.push(conn);
  }

  private open(name: string): Redis {
    const conn = new Redis(this.options.url, { ...redisOptions(this.options.commandTimeoutMs), connectionName: `gossip-cdn-point-${name}` });
    conn.on('error', (err: Error) => {
      // ioredis emits an error per failed reconnect; log at most one a second.
      const now = Date.now();
      if (now - this.lastErrorLog < 1000) return;
      this.lastErrorLog = now;
      this.options.logger.warn({ err: err.message, connection: name }, 'redis connection error');
    });
    return conn;
  }
}
