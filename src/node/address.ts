/**
 * Where a node is reached and where it dials from: the advertised
 * HOST:PORT (what the Point hands out and peers dial) and the local source
 * address for connections to peers.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { formatHostPort } from '../host-port.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** The address peers should use: --advertise, else the bound address, else (wildcard) this host's first IPv4. */
export function advertisedAddress(listen: { host: string; advertise?: string | undefined }, boundPort: number): string {
  if (listen.advertise !== undefined) return listen.advertise;
  if (!WILDCARDS.has(listen.host)) return formatHostPort(listen.host, boundPort);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return `${a.address}:${boundPort}`;
  }
  return `127.0.0.1:${boundPort}`;
}

/** The port of a HOST:PORT or [IPv6]:PORT address. */
export function advertisedPort(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/**
 * The source address for connections to peers: the listening IP when it is
 * one (so peers, which admit by source address, see the address this node
 * serves on), none for a wildcard or a host name.
 */
export function dialFrom(host: string): string | undefined {
  return isIP(host) !== 0 && !WILDCARDS.has(host) ? host : undefined;
}
