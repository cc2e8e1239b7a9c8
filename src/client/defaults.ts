/**
 * The client's defaults, apart from the code that uses them: the command
 * definitions show them in --help without loading the HTTP client.
 */
export interface ClientTimeouts {
  connectMs: number;
  headersMs: number;
  /** no body bytes moving (up or down) for this long aborts the transfer */
  stallMs: number;
}

export const DEFAULT_TIMEOUTS: ClientTimeouts = { connectMs: 5_000, headersMs: 30_000, stallMs: 30_000 };

export const DEFAULT_NODE_URL = 'http://127.0.0.1:7000';
