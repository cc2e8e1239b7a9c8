/**
 * The HTML status page at `/`: the node's view of the cluster, rendered on
 * the server with every value escaped. It reloads itself every few seconds;
 * no script, no external resource, so it works offline.
 */
import type { ClusterView } from './ops-routes.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export function renderStatusPage(view: ClusterView): string {
  const rows = view.peers.length === 0
    ? '<tr><td colspan="4">no peers known yet</td></tr>'
    : view.peers.map((p) => `<tr class="${esc(p.state)}"><td>${esc(p.id)}</td><td>${esc(p.address)}</td><td>${esc(p.state)}</td><td>${esc(p.lastContact ?? '—')}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>gossip-cdn ${esc(view.id)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}
.alive td:nth-child(3){color:#080}.suspect td:nth-child(3){color:#b70}.dead td:nth-child(3),.left td:nth-child(3){color:#b00}
code{background:#f4f4f4;padding:0 .3rem}
</style></head><body>
<h1>gossip-cdn node <code>${esc(view.id)}</code></h1>
<p>Address <code>${esc(view.address)}</code> · up since ${esc(view.startedAt)} · Point ${esc(view.point.url)} (${esc(view.point.state)})</p>
<h2>Blobs</h2>
<p>${esc(view.blobs.live)} live keys · ${esc(view.blobs.bodies)} bodies · ${esc(mib(view.blobs.bytes))} of ${esc(mib(view.blobs.quotaBytes))} quota</p>
<h2>Peers</h2>
<table><thead><tr><th>id</th><th>address</th><th>state</th><th>last contact</th></tr></thead><tbody>${rows}</tbody></table>
<p><a href="/cluster">/cluster</a> · <a href="/metrics">/metrics</a> · <a href="/openapi.json">/openapi.json</a></p>
</body></html>`;
}
