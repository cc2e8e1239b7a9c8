/**
 * `gossip-cdn status`: the cluster as one node sees it (GET /cluster), as a
 * readable table or, with --json, the raw document.
 */
import bytes from 'bytes';
import { offsetText, type ClusterView } from '../http/cluster-view.js';
import { call, nodeUrl } from './http.js';
import type { ClientTimeouts } from './defaults.js';

export async function fetchCluster(node: string, timeouts?: ClientTimeouts): Promise<ClusterView> {
  const res = await call('GET', nodeUrl(node, 'cluster'), [200], { timeouts });
  return await res.json() as ClusterView;
}

function ago(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  if (ms < 1000) return 'just now';
  if (ms < 120_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ')).join('\n');
}

function size(n: number): string {
  return bytes.format(n, { decimalPlaces: 1 }) ?? `${n}B`;
}

function placementLine(p: ClusterView['placement']): string {
  const zone = p.zone === null ? '' : `, zone ${p.zone}`;
  const owned = `owns ${p.owned.bodies} bodies (${size(p.owned.bytes)})`;
  const cached = `caches ${p.cached.bodies} (${size(p.cached.bytes)} of ${size(p.cached.limitBytes)})`;
  return `placement replicas ${p.replicas}${zone}: ${owned}, ${cached}, hand-off ${p.handoff.bodies}, to fetch ${p.missing.bodies}`;
}

/** With several Points: the others known, and the moves away from a Point that stopped answering. */
function otherPoints(point: ClusterView['point']): string {
  const others = (point.known ?? []).filter((url) => url !== point.url);
  if (others.length === 0) return '';
  const moves = point.failovers ?? 0;
  return `; also knows ${others.join(', ')}${moves > 0 ? `; moved ${moves} time${moves === 1 ? '' : 's'}` : ''}`;
}

export function renderCluster(view: ClusterView, now = Date.now()): string {
  const counts = new Map<string, number>();
  for (const p of view.peers) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
  const summary = [...counts.entries()].map(([state, n]) => `${n} ${state}`).join(', ') || 'none known yet';
  const lines = [
    `node     ${view.id}`,
    `address  ${view.address}`,
    `up since ${view.startedAt}`,
    `Point    ${view.point.url} (${view.point.state}${view.point.lastError === null ? '' : `: ${view.point.lastError}`})${otherPoints(view.point)}`,
    `blobs    ${view.blobs.live} live keys, ${view.blobs.bodies} bodies, ${size(view.blobs.bytes)} of ${size(view.blobs.quotaBytes)} quota`,
    placementLine(view.placement),
    `peers    ${summary}`,
  ];
  // absent from a node older than --max-peers
  const a = view.activeView as ClusterView['activeView'] | undefined;
  if (a !== undefined) lines.push(`links    ${a.peers.length} active peers (--max-peers ${a.maxPeers}), ${a.connections.kept} kept connections`);
  const c = view.clock;
  if (c?.disagrees === true) {
    lines.push(`clock    ${Math.abs(Math.round(c.medianOffsetSeconds))} s ${c.medianOffsetSeconds < 0 ? 'ahead of' : 'behind'} ${c.peersBeyond} of ${c.peers} peers, past the limit of ${c.limitSeconds} s: check NTP`);
  }
  if (view.peers.length > 0) {
    const rows = [['ID', 'ADDRESS', 'STATE', 'LAST CONTACT', 'CLOCK']];
    for (const p of [...view.peers].sort((a, b) => a.address.localeCompare(b.address))) rows.push([p.id, p.address, p.state, ago(p.lastContact, now), offsetText(p.clockOffsetSeconds ?? null)]);
    lines.push('', table(rows));
  }
  return `${lines.join('\n')}\n`;
}
