/**
 * HOST:PORT text as URLs and peers expect it: an IPv6 literal goes in
 * brackets ([::1]:7000), anything else as it is (127.0.0.1:7000, name:7000).
 */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
