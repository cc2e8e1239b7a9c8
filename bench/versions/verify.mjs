#!/usr/bin/env node
/**
 * Cost of origin-signed versions (issue 13) on this CPU: Ed25519 signatures
 * made per second (what a write adds), full verifications per second (a
 * version new to this node), and checks answered by the verified-signature
 * cache (the same version relayed again), with the load average, since the
 * machine may be shared.
 *
 * Usage: npm run build && node bench/versions/verify.mjs [--count 20000]
 * Writes bench/results/versions-latest.json.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const root = new URL('../../', import.meta.url).pathname;
if (!existsSync(join(root, 'dist/cli.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const args = process.argv.slice(2);
const i = args.indexOf('--count');
const count = i >= 0 ? Number(args[i + 1]) : 20_000;
if (!Number.isSafeInteger(count) || count < 100) {
  console.error('--count must be an integer of at least 100');
  process.exit(1);
}

const { generateIdentity } = await import(join(root, 'dist/identity/keystore.js'));
const { signVersion } = await import(join(root, 'dist/identity/version-signature.js'));
const { VersionVerifier } = await import(join(root, 'dist/gossip/shell/version-verifier.js'));

const origin = generateIdentity();
const fields = (n) => ({
  key: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
  clock: { [origin.id]: n + 1, n00000000000000aa: 3, n00000000000000bb: 7 },
  timestamp: { wall: 1_733_220_000_000 + n, logical: 0 }, origin: origin.id,
  sha256: 'ab'.repeat(32), size: 4096, contentType: 'application/octet-stream', tombstone: false,
});

const rate = (n, ms) => Math.round((n / ms) * 1000);
const before = loadavg();

let t = performance.now();
const versions = [];
for (let n = 0; n < count; n++) versions.push(signVersion(origin, fields(n)));
const signPerSec = rate(count, performance.now() - t);

// a cache smaller than the run: every check below is a full Ed25519 verification
const cold = new VersionVerifier(16);
t = performance.now();
for (const v of versions) if (cold.check(v) !== undefined) throw new Error('a genuine version failed');
const verifyPerSec = rate(count, performance.now() - t);

const warm = new VersionVerifier(count);
for (const v of versions) warm.check(v);
t = performance.now();
for (const v of versions) if (warm.check(v) !== undefined) throw new Error('a cached version failed');
const cachedPerSec = rate(count, performance.now() - t);

const result = {
  when: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, count,
  loadavgBefore: before.map((x) => Number(x.toFixed(2))), loadavgAfter: loadavg().map((x) => Number(x.toFixed(2))),
  signPerSec, verifyPerSec, cachedPerSec,
  usPerVerify: Number((1e6 / verifyPerSec).toFixed(1)), usPerCachedCheck: Number((1e6 / cachedPerSec).toFixed(2)),
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/versions-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
