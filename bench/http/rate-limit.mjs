#!/usr/bin/env node
/**
 * The per-request cost of the public rate limit (src/http/rate-limits.ts):
 * what the node does for every request before it routes it, i.e. the
 * connection's cached address key and one take() on the LRU table of token
 * buckets. Measured in-process (from dist/), against an empty loop, for a
 * table holding 1 address, 10,000, and 100,000 (the cap) with keys drawn
 * round-robin (the worst case for the LRU: every take moves an entry).
 *
 *   npm run build && node bench/http/rate-limit.mjs [--takes 2000000]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { RateLimiter, socketKey } from '../../dist/rate-limit/limiter.js';

const { values } = parseArgs({ options: { takes: { type: 'string', default: '2000000' } } });
const TAKES = Number(values.takes);

/**
 * `perConnection`: takeFor(socket), what the node does (the connection holds its
 * bucket; a table lookup every 64th request). Otherwise take(key): a table
 * lookup every request, what a new connection costs (a flood of fresh addresses).
 */
function measure(addresses, perConnection) {
  const limiter = new RateLimiter({ ratePerSec: 1e9, burst: 1e9, maxEntries: 100_000 });
  // fake sockets: the limiter caches the key and the bucket on the socket object, as on a real connection
  const sockets = Array.from({ length: addresses }, (_, i) => ({ remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));
  for (const s of sockets) limiter.takeFor(s);
  let refused = 0;
  const started = performance.now();
  if (perConnection) for (let i = 0; i < TAKES; i++) refused += limiter.takeFor(sockets[i % addresses]) > 0 ? 1 : 0;
  else for (let i = 0; i < TAKES; i++) refused += limiter.take(socketKey(sockets[i % addresses])) > 0 ? 1 : 0;
  const ns = ((performance.now() - started) * 1e6) / TAKES;
  if (refused > 0) throw new Error('the limiter refused during the benchmark');
  return ns;
}

function baseline() {
  const sockets = [{ remoteAddress: '10.0.0.1' }];
  let sum = 0;
  const started = performance.now();
  for (let i = 0; i < TAKES; i++) sum += sockets[i % 1].remoteAddress.length;
  const ns = ((performance.now() - started) * 1e6) / TAKES;
  return sum > 0 ? ns : ns;
}

const load = (await import('node:os')).loadavg().map((n) => n.toFixed(2)).join(' ');
process.stdout.write(`rate limiter cost per request, ${TAKES.toLocaleString('en')} takes each (load average ${load}; Node ${process.version})\n`);
measure(1, true); // warm-up
measure(1, false);
for (const perConnection of [true, false]) {
  process.stdout.write(perConnection ? '  requests on open connections (takeFor: the node\'s path)\n' : '  a table lookup per request (take: each new connection)\n');
  for (const n of [1, 10_000, 100_000]) {
    const runs = [measure(n, perConnection), measure(n, perConnection), measure(n, perConnection)].sort((a, b) => a - b);
    process.stdout.write(`    ${String(n).padStart(7)} addresses, round robin: ${runs[1].toFixed(0)} ns/request (median of 3)\n`);
  }
}
process.stdout.write(`  empty loop: ${baseline().toFixed(1)} ns/iteration\n`);
// yardsticks measured in the same run: on a loaded machine everything is slower, the ratios much less
const map = new Map([['10.0.0.1', { tokens: 1 }]]);
let sum = 0;
let started = performance.now();
for (let i = 0; i < TAKES; i++) sum += map.get('10.0.0.1').tokens;
process.stdout.write(`  yardstick Map.get: ${(((performance.now() - started) * 1e6) / TAKES).toFixed(0)} ns\n`);
started = performance.now();
for (let i = 0; i < TAKES; i++) sum += performance.now();
process.stdout.write(`  yardstick performance.now(): ${(((performance.now() - started) * 1e6) / TAKES).toFixed(0)} ns${sum > 0 ? '' : ' '}\n`);
