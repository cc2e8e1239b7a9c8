/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by
 * function, self time by area (our dist/ modules, each npm package, node's
 * internals, GC), and inclusive time of our own functions.
 */

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);
/** Native bindings that are one syscall on the socket: their time is the kernel's (loopback TCP) and waiting for a CPU. */
const SOCKET_WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString']);
const FS_CALLS = new Set(['openFileHandle', 'open', 'close', 'read', 'fstat', 'fsync', 'fdatasync', 'rename', 'mkdir', 'unlink', 'stat', 'lstat']);
export const SOCKET_AREA = '(native: socket write syscalls)';

function shortUrl(url) {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

export function areaOf(frame) {
  const { functionName, url } = frame;
  if (SPECIAL.has(functionName)) return functionName;
  if (url === '' && SOCKET_WRITES.has(functionName)) return SOCKET_AREA;
  if (url === '' && FS_CALLS.has(functionName)) return '(native: fs calls)';
  if (url === '') return '(native / V8 builtins)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `npm: ${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) {
    const parts = url.slice(dist + '/dist/'.length).split('/');
    return `ours: dist/${parts.length > 1 ? `${parts[0]}/` : parts[0]}`;
  }
  if (url.startsWith('node:')) {
    const mod = url.slice(5).replace(/^internal\//, '');
    const head = mod.split('/')[0];
    if (head.startsWith('_http') || head === 'http') return 'node: http';
    if (head === 'streams' || head === 'stream') return 'node: streams';
    if (head === 'net' || head === 'stream_base_commons' || head === 'dns') return 'node: net';
    if (head === 'fs') return 'node: fs';
    if (head === 'timers' || head === 'process' || head === 'async_hooks') return 'node: timers/process';
    return `node: ${head}`;
  }
  return `other: ${shortUrl(url)}`;
}

export function keyOf(frame) {
  const name = frame.functionName || '(anonymous)';
  if (SPECIAL.has(name)) return name;
  const url = shortUrl(frame.url);
  return url === '' ? `${name} (native)` : `${name} ${url}:${frame.lineNumber + 1}`;
}

/** `window`: [fromUs, toUs] on the profile's clock (CLOCK_MONOTONIC, as process.hrtime): only samples inside count. */
export function summariseProfile(profile, { top = 30, window } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const selfArea = new Map();
  const inclusive = new Map();
  const inclusiveNS = new Map(); // the same, not counting samples that sit in a socket write
  const areaOfKey = new Map();
  let total = 0;
  let idle = 0;
  const { samples, timeDeltas } = profile;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, timeDeltas[i] ?? 0);
    at += timeDeltas[i] ?? 0;
    if (window !== undefined && (at < window[0] || at > window[1])) continue;
    const node = byId.get(samples[i]);
    if (node === undefined) continue;
    total += dt;
    const key = keyOf(node.callFrame);
    if (key === '(idle)') { idle += dt; continue; }
    self.set(key, (self.get(key) ?? 0) + dt);
    const area = areaOf(node.callFrame);
    selfArea.set(area, (selfArea.get(area) ?? 0) + dt);
    const inSocket = area === SOCKET_AREA;
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id).callFrame;
      const k = keyOf(frame);
      if (!areaOfKey.has(k)) areaOfKey.set(k, areaOf(frame));
      if (!seen.has(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
        if (!inSocket) inclusiveNS.set(k, (inclusiveNS.get(k) ?? 0) + dt);
      }
    }
  }
  const busy = total - idle;
  const socket = selfArea.get(SOCKET_AREA) ?? 0;
  // `ns`: the same figures without socket-write samples (undefined: the row is itself socket writes)
  const rows = (map, ns, n, filter = () => true) => [...map.entries()].filter(([k]) => filter(k))
    .sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, us]) => ({ name: k, ms: us / 1000, pctBusy: (100 * us) / busy, pctNonSocket: ns(k) === undefined ? NaN : (100 * ns(k)) / (busy - socket) }));
  const selfNS = (k) => (k === SOCKET_AREA || areaOfKey.get(k) === SOCKET_AREA ? undefined : self.get(k) ?? selfArea.get(k));
  const inclNS = (k) => inclusiveNS.get(k) ?? 0;
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    socketMs: socket / 1000,
    idlePct: (100 * idle) / total,
    selfTop: rows(self, selfNS, top),
    areas: rows(selfArea, selfNS, 40),
    oursInclusive: rows(inclusive, inclNS, top, (k) => areaOfKey.get(k)?.startsWith('ours:')),
    npmInclusive: rows(inclusive, inclNS, top, (k) => areaOfKey.get(k)?.startsWith('npm:')),
  };
}

export function formatSummary(s) {
  const pct = (n) => (Number.isFinite(n) ? n.toFixed(1) : '');
  const table = (title, rows) => [
    `\n### ${title}\n`,
    '| % of busy | % of busy excl. socket writes | ms | function |',
    '|---:|---:|---:|---|',
    ...rows.map((r) => `| ${pct(r.pctBusy)} | ${pct(r.pctNonSocket)} | ${r.ms.toFixed(0)} | \`${r.name}\` |`),
  ].join('\n');
  return [
    `profile: ${s.totalMs.toFixed(0)} ms sampled, ${s.idlePct.toFixed(1)}% idle, ${s.busyMs.toFixed(0)} ms busy of which ${s.socketMs.toFixed(0)} ms in socket write syscalls`,
    '(a sampled syscall also counts the time the thread waited for a CPU: on a 2-core machine shared with the load generator that can be most of it)',
    table('Self time by area', s.areas),
    table('Self time, top functions', s.selfTop),
    table('Inclusive time, our functions (dist/)', s.oursInclusive),
    table('Inclusive time, npm packages\' functions', s.npmInclusive),
  ].join('\n');
}
