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

export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'gossip-cdn',
    level: options.level ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that writes nothing: for unit tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
