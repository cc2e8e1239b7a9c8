/**
 * The status page's one inline script: polls `/cluster?nodes=1` every two
 * seconds and redraws the node table, the SVG picture of the cluster and a
 * feed of what changed between polls (joins, state changes, new blobs). Plain
 * browser JavaScript kept as text; the page's Content-Security-Policy allows
 * exactly this script by its sha256 and lets it fetch only from this origin.
 */
import { createHash } from 'node:crypto';

export const STATUS_SCRIPT = `
(function () {
  'use strict';
  var POLL_MS = 2000;
  var COLORS = { alive: '#2a8a2a', suspect: '#d08a00', dead: '#c0392b', left: '#8a8a8a' };
  var ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  var last = null;
  var events = [];
  function $(id) { return document.getElementById(id); }
  function esc(v) { return String(v).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  function mib(b) { return b >= 1073741824 ? (b / 1073741824).toFixed(1) + ' GiB' : (b / 1048576).toFixed(1) + ' MiB'; }
  function ago(iso) {
    if (!iso) return '\\u2014';
    var s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    return s < 1 ? 'just now' : s < 120 ? s + ' s ago' : Math.round(s / 60) + ' min ago';
  }
  function note(text) {
    events.unshift(new Date().toLocaleTimeString() + '  ' + text);
    if (events.length > 20) events.length = 20;
  }
  function members(view) {
    var counts = {};
    (view.nodes || []).forEach(function (n) { counts[n.id] = n; });
    var list = [{ id: view.id, address: view.address, state: 'alive', lastContact: null, self: true }];
    view.peers.forEach(function (p) { list.push({ id: p.id, address: p.address, state: p.state, lastContact: p.lastContact, offset: p.clockOffsetSeconds, self: false }); });
    list.forEach(function (m) { var c = counts[m.id]; m.blobs = c && c.blobs ? c.blobs : null; if (m.self) m.blobs = view.blobs; });
    return list;
  }
  function diff(list) {
    var now = {};
    list.forEach(function (m) { now[m.id] = { state: m.state, live: m.blobs ? m.blobs.live : null }; });
    if (last) {
      Object.keys(now).forEach(function (id) {
        var prev = last[id], cur = now[id];
        if (!prev) { note(id + ' joined (' + cur.state + ')'); return; }
        if (prev.state !== cur.state) note(id + ': ' + prev.state + ' \\u2192 ' + cur.state);
        if (prev.live !== null && cur.live !== null && prev.live !== cur.live) note(id + ': ' + prev.live + ' \\u2192 ' + cur.live + ' live blobs');
      });
    }
    last = now;
  }
  function offset(s) {
    if (s === null || s === undefined) return '\u2014';
    return (s > 0 ? '+' : '') + (Math.abs(s) < 10 ? s.toFixed(2) : Math.round(s)) + ' s';
  }
  function table(list) {
    return list.map(function (m) {
      var b = m.blobs;
      return '<tr data-node-id="' + esc(m.id) + '" class="' + esc(m.state) + '"><td><code>' + esc(m.id) + '</code>' + (m.self ? ' (this node)' : '') +
        '</td><td>' + esc(m.address) + '</td><td class="state">' + esc(m.state) + '</td><td>' + esc(m.self ? 'self' : ago(m.lastContact)) +
        '</td><td class="num">' + esc(m.self ? '0 s' : offset(m.offset)) + '</td><td class="num">' + (b ? esc(b.live) : '\\u2014') + '</td><td class="num">' + (b ? esc(mib(b.bytes)) : '\\u2014') + '</td></tr>';
    }).join('');
  }
  function picture(list) {
    var w = 420, h = 300, cx = w / 2, cy = h / 2, r = list.length > 1 ? 105 : 0;
    var pos = list.map(function (m, i) {
      var a = -Math.PI / 2 + (2 * Math.PI * i) / list.length;
      return { m: m, x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) };
    });
    var lines = pos.slice(1).map(function (p) {
      return '<line x1="' + pos[0].x.toFixed(1) + '" y1="' + pos[0].y.toFixed(1) + '" x2="' + p.x.toFixed(1) + '" y2="' + p.y.toFixed(1) +
        '" stroke="' + (COLORS[p.m.state] || '#999') + '" stroke-width="2"' + (p.m.state === 'alive' ? '' : ' stroke-dasharray="5 4"') + '/>';
    }).join('');
    var dots = pos.map(function (p) {
      var label = p.m.blobs ? String(p.m.blobs.live) : '?';
      return '<g class="member" data-node-id="' + esc(p.m.id) + '"><circle cx="' + p.x.toFixed(1) + '" cy="' + p.y.toFixed(1) + '" r="22" fill="' + (COLORS[p.m.state] || '#999') + '"' +
        (p.m.self ? ' stroke="#123" stroke-width="3"' : '') + '><title>' + esc(p.m.id + ' ' + p.m.address + ' ' + p.m.state) + '</title></circle>' +
        '<text x="' + p.x.toFixed(1) + '" y="' + (p.y + 5).toFixed(1) + '" text-anchor="middle" fill="#fff" font-size="14">' + esc(label) + '</text>' +
        '<text x="' + p.x.toFixed(1) + '" y="' + (p.y + 38).toFixed(1) + '" text-anchor="middle" font-size="11">' + esc(p.m.id.slice(0, 9)) + '</text></g>';
    }).join('');
    return '<svg xmlns="http://www.w3.org/2000/svg" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" role="img" aria-label="cluster">' + lines + dots + '</svg>';
  }
  function render(view) {
    var list = members(view);
    diff(list);
    var states = {};
    list.forEach(function (m) { states[m.state] = (states[m.state] || 0) + 1; });
    $('summary').textContent = list.length + ' members: ' + Object.keys(states).map(function (s) { return states[s] + ' ' + s; }).join(', ') +
      ' \\u00b7 this node: ' + view.blobs.live + ' live keys, ' + view.blobs.bodies + ' bodies, ' + mib(view.blobs.bytes) + ' of ' + mib(view.blobs.quotaBytes) +
      (view.clock && view.clock.disagrees ? ' \u00b7 CLOCK: this node is ' + Math.abs(Math.round(view.clock.medianOffsetSeconds)) + ' s ' + (view.clock.medianOffsetSeconds < 0 ? 'ahead of' : 'behind') + ' ' + view.clock.peersBeyond + ' of ' + view.clock.peers + ' peers (limit ' + view.clock.limitSeconds + ' s)' : '') +
      (view.replication ? ' \\u00b7 replication lag (median of the last ' + view.replication.samples + '): ' + view.replication.lagMedianMs + ' ms \\u00b7 conflicts: ' + view.replication.conflictsDetected + ' kept as siblings, ' + view.replication.conflictsResolved + ' resolved' : '');
    $('nodes').innerHTML = table(list);
    $('picture').innerHTML = picture(list);
    $('activity').innerHTML = events.length === 0 ? '<li>nothing has changed since this page opened</li>' : events.map(function (e) { return '<li>' + esc(e) + '</li>'; }).join('');
  }
  function poll() {
    fetch('/cluster?nodes=1', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (view) { render(view); $('updated').textContent = 'live \\u00b7 updated ' + new Date().toLocaleTimeString(); $('updated').className = 'ok'; })
      .catch(function (e) { $('updated').textContent = 'cannot reach this node (' + e.message + '); retrying'; $('updated').className = 'bad'; })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
`;

/** The CSP source that allows exactly STATUS_SCRIPT. */
export const STATUS_SCRIPT_CSP = `'sha256-${createHash('sha256').update(STATUS_SCRIPT).digest('base64')}'`;
