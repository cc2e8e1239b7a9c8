/**
 * Runs one autocannon measurement in its own process (the fallback when wrk
 * is not installed) and prints one `BENCH_JSON {...}` line.
 * argv[2]: JSON { url, mode: 'get'|'put', paths, size, connections, durationS, headers? }
 * (https URLs work: autocannon does not verify the server's certificate)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import process from 'node:process';
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2]);
const extra = spec.headers ?? {};
let requests;
if (spec.mode === 'get') {
  // each connection walks the list from a different place
  const shuffled = [...spec.paths].sort(() => Math.random() - 0.5);
  requests = shuffled.map((path) => ({ method: 'GET', path, headers: extra }));
} else {
  const base = randomBytes(spec.size - 36);
  requests = [{
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', ...extra },
    setupRequest(req) {
      const id = randomUUID();
      return { ...req, path: `/blobs/${id}`, body: Buffer.concat([base, Buffer.from(id)]) };
    },
  }];
}

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationS,
  requests,
  timeout: 10,
});
process.stdout.write(`BENCH_JSON ${JSON.stringify({
  requests: result.requests.total,
  bytes: result.throughput.total,
  durationUs: Math.round(result.duration * 1e6),
  p50Us: Math.round(result.latency.p50 * 1000),
  p99Us: Math.round(result.latency.p99 * 1000),
  errors: { connect: 0, read: result.errors, write: 0, status: result.non2xx, timeout: result.timeouts },
})}\n`);
