import { createServer } from 'node:net';

/** Ports this process handed out lately (host:port), oldest first: the OS may offer a closed port again at once. */
const handedOut = new Set<string>();
const REMEMBERED = 4096;
const ATTEMPTS = 32;

/** A port the OS picks on `host`, free a moment ago. */
function osPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

/**
 * A port that was free on `host` a moment ago, and not one this process
 * handed out lately: two calls before either port is bound (two Points
 * started side by side) get two different ports.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = await osPort(host);
    const key = `${host}:${port}`;
    if (handedOut.has(key)) continue;
    handedOut.add(key);
    if (handedOut.size > REMEMBERED) handedOut.delete(handedOut.values().next().value as string);
    return port;
  }
  throw new Error(`no port on ${host} that this process has not handed out lately, after ${ATTEMPTS} tries`);
}
