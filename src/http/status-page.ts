/**
 * The HTML status page at `/`: the cluster as this node sees it. The server
 * renders the first frame (every value escaped), so the page says something
 * without JavaScript; one inline script (status-script.ts) then polls
 * `/cluster?nodes=1` and keeps the members table, the SVG picture of the
 * cluster and the activity feed live. No external resource: works offline.
 */
import { offsetText, type ClusterView } from './cluster-view.js';
import { STATUS_SCRIPT, STATUS_SCRIPT_CSP } from './status-script.js';

/** Only this origin, inline styles, and exactly the page's own script. */
export const STATUS_PAGE_CSP = `default-src 'self'; script-src ${STATUS_SCRIPT_CSP}; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function rows(view: ClusterView): string {
  const self = `<tr data-node-id="${esc(view.id)}" class="alive"><td><code>${esc(view.id)}</code> (this node)</td><td>${esc(view.address)}</td><td class="state">alive</td><td>self</td><td class="num">0 s</td><td class="num">${esc(view.blobs.live)}</td><td class="num">${esc(mib(view.blobs.bytes))}</td></tr>`;
  const peers = view.peers.map((p) => `<tr data-node-id="${esc(p.id)}" class="${esc(p.state)}"><td><code>${esc(p.id)}</code></td><td>${esc(p.address)}</td><td class="state">${esc(p.state)}</td><td>${esc(p.lastContact ?? '—')}</td><td class="num">${esc(offsetText(p.clockOffsetSeconds))}</td><td class="num">—</td><td class="num">—</td></tr>`);
  return [self, ...peers].join('');
}

export function renderStatusPage(view: ClusterView): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<noscript><meta http-equiv="refresh" content="5"></noscript>
<title>gossip-cdn ${esc(view.id)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem 2rem;color:#222;background:#fafafa}
h1{font-size:1.3rem;margin:0 0 .3rem}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:.8rem 1rem}
table{border-collapse:collapse}td,th{padding:.3rem .7rem;border-bottom:1px solid #eee;text-align:left}.num{text-align:right}
tr.alive .state{color:#2a8a2a}tr.suspect .state{color:#d08a00}tr.dead .state{color:#c0392b}tr.left .state{color:#8a8a8a}
code{background:#f1f1f1;padding:0 .3rem;border-radius:3px}
#activity{font:12px/1.5 ui-monospace,monospace;list-style:none;padding:0;margin:0;max-height:16rem;overflow:auto;min-width:22rem}
#updated.ok{color:#2a8a2a}#updated.bad{color:#c0392b}
</style></head><body>
<h1>gossip-cdn node <code>${esc(view.id)}</code></h1>
<p>Address <code>${esc(view.address)}</code> · up since ${esc(view.startedAt)} · Point ${esc(view.point.url)} (${esc(view.point.state)}) · <span id="updated">static snapshot (the live view needs JavaScript)</span></p>
<p id="summary">${esc(view.peers.length + 1)} members · this node: ${esc(view.blobs.live)} live keys, ${esc(view.blobs.bodies)} bodies, ${esc(mib(view.blobs.bytes))} of ${esc(mib(view.blobs.quotaBytes))} · replication lag (median of the last ${esc(view.replication.samples)}): ${esc(view.replication.lagMedianMs ?? '—')} ms · conflicts: ${esc(view.replication.conflictsDetected)} kept as siblings, ${esc(view.replication.conflictsResolved)} resolved</p>
<div class="grid">
<div class="card"><h2>Members</h2>
<table><thead><tr><th>id</th><th>address</th><th>state</th><th>last contact</th><th>clock offset</th><th>live blobs</th><th>bytes</th></tr></thead><tbody id="nodes">${rows(view)}</tbody></table></div>
<div class="card"><h2>Cluster</h2><div id="picture"></div></div>
<div class="card"><h2>Recent activity</h2><ul id="activity"><li>watching…</li></ul></div>
</div>
<p><a href="/cluster">/cluster</a> · <a href="/metrics">/metrics</a> · <a href="/openapi.json">/openapi.json</a></p>
<script>${STATUS_SCRIPT}</script>
</body></html>`;
}
