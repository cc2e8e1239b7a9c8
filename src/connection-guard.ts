import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { HttpServer } from './tls.js';

/**
 * node:http's headers timeout only starts with the first byte: a connection
 * that never sends one would be held forever. Such a socket times out
 * (node:http destroys a socket whose timeout nobody handles) unless a
 * request's headers arrive first; from then on the server's own request,
 * upload and keep-alive timeouts govern it. Used by the node and the Point.
 *
 * Over TLS the HTTP layer runs on the TLS socket, so the guard starts once
 * the handshake is done ('secureConnection'); the handshake itself is bounded
 * by the server's handshakeTimeout (tls.ts, createListener). Connection caps
 * (maxConnections) and the connection metrics count raw TCP connections
 * ('connection') either way.
 */
export function dropSilentConnections(server: HttpServer, headersTimeoutMs: number): void {
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => socket.setTimeout(headersTimeoutMs));
  server.prependListener('request', (req: IncomingMessage) => req.socket.setTimeout(0));
}
