import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * node:http's headers timeout only starts with the first byte: a connection
 * that never sends one would be held forever. Such a socket times out
 * (node:http destroys a socket whose timeout nobody handles) unless a
 * request's headers arrive first; from then on the server's own request,
 * upload and keep-alive timeouts govern it. Used by the node and the Point.
 */
export function dropSilentConnections(server: Server, headersTimeoutMs: number): void {
  server.on('connection', (socket: Socket) => socket.setTimeout(headersTimeoutMs));
  server.prependListener('request', (req: IncomingMessage) => req.socket.setTimeout(0));
}
