/** A small node:http client for preloading and sanity checks (not for load). */
import { request, Agent } from 'node:http';
import { createHash } from 'node:crypto';
import { HOST } from './procs.mjs';

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** Resolves { status, headers, body: Buffer }; rejects after `timeoutMs`. */
export function httpRequest(port, method, path, { body, headers = {}, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: HOST, port, method, path, agent, timeout: timeoutMs,
      headers: body === undefined ? headers : { 'content-type': 'application/octet-stream', 'content-length': body.length, ...headers },
    }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.once('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new Error(`${method} ${path} took longer than ${timeoutMs} ms`)));
    req.end(body);
  });
}

export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

export function closeClientAgent() {
  agent.destroy();
}
