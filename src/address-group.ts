/**
 * Which address a client or a peer counts as, wherever fairness is per
 * address (the rate limiter's buckets, the active view's per-address cap):
 * an IPv4 address (an IPv4-mapped IPv6 one unwrapped), or an IPv6 address's
 * /64 prefix as `a:b:c:d::/64` (one host usually holds a whole /64). The
 * parsing is ipaddr.js's. Pure: the protocol core uses it too.
 */
import ipaddr from 'ipaddr.js';

/** The group of an IP address, or undefined when `ip` is not one (a host name, garbage). */
export function ipGroup(ip: string): string | undefined {
  const bare = ip.split('%')[0] ?? ''; // an IPv6 zone index names a link, not an address
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare).toString();
  if (!ipaddr.IPv6.isValid(bare)) return undefined;
  const v6 = ipaddr.IPv6.parse(bare);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}
