/**
 * Structured JSON logs (pino). Each component takes a child logger named after
 * itself: `logger.child({ component: 'storage' })`. The parts inside one
 * component name themselves with `part` (`{ component: 'gossip', part:
 * 'membership' }`): pino repeats a key that a child binds again, so no
 * logger binds `component` twice.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Secrets never reach a log line (issue 13): Authorization headers and
 * tokens wherever a request or its headers are logged, and the `token` query
 * parameter of presigned URLs inside any logged URL.
 */
export const REDACTED_PATHS = [
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'req.headers.authorization',
  'token', '*.token', 'revocation', '*.revocation', 'adminKey', '*.adminKey',
  'url', '*.url', 'req.url', 'originalUrl', '*.originalUrl',
];

/** A presigned URL's `token` (or any `token`) query parameter, hidden; other values redacted whole. */
export function censor(value: unknown, path: string[]): unknown {
  const last = path[path.length - 1];
  if ((last === 'url' || last === 'originalUrl') && typeof value === 'string') return value.replace(/([?&]token=)[^&#]*/gi, '$1[Redacted]');
  return '[Redacted]';
}

export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'gossip-cdn',
    level: options.level ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor },
  });
}

/** A logger that writes nothing: for unit tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
