/**
 * How the client commands fail: one line on stderr and an exit code a script
 * can branch on. 1: usage or anything else; 2: the blob (or route) does not
 * exist; 3: the node could not be reached or stopped answering.
 */
import { certificateFailure } from '../tls-codes.js';

export const EXIT = { other: 1, notFound: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class ClientError extends Error {
  constructor(message: string, readonly exitCode: ExitCode = EXIT.other) {
    super(message);
    this.name = 'ClientError';
  }
}

/** Network-level error codes that mean "the node is not there (any more)". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  // Happy-eyeballs connects fail with an AggregateError; undici wraps some causes.
  const inner = (err as { errors?: unknown[]; cause?: unknown }).errors?.[0] ?? (err as { cause?: unknown }).cause;
  return inner === err ? undefined : codeOf(inner);
}

/**
 * The error worth showing: fetch reports every network failure as a bare
 * `TypeError: fetch failed` whose cause says what happened (and a failed
 * happy-eyeballs connect is an AggregateError of one error per address).
 */
function meaningful(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const inner = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err.cause;
  const wrapper = (err instanceof TypeError && err.message === 'fetch failed') || (err instanceof AggregateError && err.message === '');
  return wrapper && inner !== undefined && inner !== err ? meaningful(inner) : err;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** Turns whatever a request threw into a ClientError naming the request. */
export function requestFailure(what: string, err: unknown): ClientError {
  if (err instanceof ClientError) return err;
  const code = codeOf(err);
  const shown = meaningful(err);
  const message = shown instanceof Error ? shown.message : String(shown);
  const certificate = certificateFailure(err);
  if (certificate !== undefined) {
    return new ClientError(`${what}: the node's TLS certificate did not verify (${certificate}: ${firstLine(message)}); trust its CA with --tls-ca FILE (TLS_CA) or NODE_EXTRA_CA_CERTS`);
  }
  if (message === 'bad port') return new ClientError(`${what}: the port is one that fetch clients refuse (the Fetch standard's "bad ports"); run the node on another port`);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    const why = code.startsWith('UND_ERR_') ? `${message} (${code})` : message;
    return new ClientError(`${what}: cannot reach the node: ${firstLine(why)}`, EXIT.unreachable);
  }
  return new ClientError(`${what}: ${firstLine(message)}`);
}

/** Prints the one-line error and exits with its code; never a stack trace. */
export function exitWithError(err: unknown): never {
  const failure = err instanceof ClientError ? err : requestFailure('gossip-cdn', err);
  process.stderr.write(`gossip-cdn: error: ${firstLine(failure.message)}\n`);
  process.exit(failure.exitCode);
}
