/**
 * The node's own Prometheus series beside the HTTP server's: its client
 * connections (open, and closed at the --max-connections cap) and what the
 * gossip runtime counts (messages, bytes, transport problems, protocol
 * events, body traffic, peers by state, the body queue), and which Point
 * it talks to.
 */
import type { HttpServer } from '../tls.js';
import type { Socket } from 'node:net';
import type { NodeMetrics } from '../http/metrics.js';
import type { GossipRuntime } from '../gossip/shell/runtime.js';
import type { CustodyStats } from '../gossip/core/custody.js';
import type { PointLink } from './point-link.js';

export function exportConnectionMetrics(metrics: NodeMetrics, server: HttpServer): void {
  const conns = { open: 0, dropped: 0 };
  server.on('connection', (socket: Socket) => {
    conns.open++;
    socket.once('close', () => { conns.open--; });
  });
  server.on('drop', () => { conns.dropped++; });
  metrics.labelledGauge('cdn_http_connections', 'Open client connections', () => ({ open: conns.open }), 'state');
  metrics.mirrorCounter('cdn_http_connections_dropped_total', 'Connections closed at once because --max-connections were open', () => ({ cap: conns.dropped }), 'reason');
}

export function exportGossipMetrics(m: NodeMetrics, gossip: Pick<GossipRuntime, 'metrics' | 'peerClocks'>): void {
  m.mirrorCounter('cdn_gossip_messages_sent_total', 'Gossip messages delivered to peers, by type', () => gossip.metrics().messagesSent);
  m.mirrorCounter('cdn_gossip_bytes_sent_total', 'Gossip message bytes delivered to peers, by type', () => gossip.metrics().bytesSent);
  m.mirrorCounter('cdn_gossip_transport_problems_total', 'Gossip messages that failed or were dropped (backlog full), by kind', () => gossip.metrics().transport, 'kind');
  m.mirrorCounter('cdn_gossip_events_total', 'Protocol events: rounds, adoptions, rumors, anti-entropy sessions, suspicions, refutations, deaths, body fetches', () => gossip.metrics().events, 'event');
  m.mirrorCounter('cdn_gossip_body_bytes_total', 'Body bytes moved between nodes, by direction: fetched and served (whole bodies), streamed (received for a read without keeping the body), staged_sent and staged_received (write copies)', () => gossip.metrics().bodyBytes, 'direction');
  m.labelledGauge('cdn_gossip_peers', 'Known peers by state', () => gossip.metrics().peers, 'state');
  m.labelledGauge('cdn_gossip_body_queue', 'Bodies waiting to be fetched', () => ({ queued: gossip.metrics().bodyQueue }), 'queue');
  const heaps = (pick: (c: CustodyStats) => [number, number, number, number]): Record<string, number> => {
    const [owned, cached, handoff, missing] = pick(gossip.metrics().custody);
    return { owned, cached, handoff, missing };
  };
  m.labelledGauge('cdn_placement_bodies', 'Bodies by custody: owned and held, cached (not owned), hand-off (not owned, waiting for the owners), missing (owned, not yet fetched)',
    () => heaps((c) => [c.ownedBodies, c.cachedBodies, c.handoffBodies, c.missingBodies]), 'custody');
  m.labelledGauge('cdn_placement_bytes', 'Body bytes by custody (as cdn_placement_bodies)',
    () => heaps((c) => [c.ownedBytes, c.cachedBytes, c.handoffBytes, c.missingBytes]), 'custody');
  m.mirrorCounter('cdn_placement_events_total', 'Custody events: hand-off copies dropped once the owners confirmed, cache entries evicted, bodies asked of owners, sweeps run and skipped (nothing changed)',
    () => { const c = gossip.metrics().custody; return { dropped: c.dropped, evicted: c.evicted, queried: c.queried, sweeps: c.sweeps, sweepsSkipped: c.skipped }; }, 'event');
  // reset at each scrape (labelledGauge), so a forgotten peer's series goes away
  m.labelledGauge('cdn_clock_offset_seconds', 'Median offset of each peer\'s wall clock from this node\'s, seconds (positive: the peer is ahead)',
    () => Object.fromEntries(gossip.peerClocks.all().map((o) => [o.peer, o.offsetMs / 1000])), 'peer');
  m.labelledGauge('cdn_clock_peers', 'Peers heard from lately (total) and those further off than --max-clock-skew (beyond)',
    () => { const v = gossip.peerClocks.verdict(); return { total: v.peers, beyond: v.beyond }; }, 'view');
  m.mirrorCounter('cdn_versions_refused_total', 'Versions from peers refused because their origin did not sign them as they are: unsigned, key_mismatch (originKey is not the origin\'s), bad_signature; the peer is reported to the Point',
    () => gossip.metrics().versionsRefused, 'reason');
  m.mirrorCounter('cdn_version_signature_checks_total', 'Origin signatures of versions from peers: verified (an Ed25519 check) or cached (verified before)',
    () => gossip.metrics().signatureChecks, 'result');
  m.labelledGauge('cdn_active_peers', 'The active view (--max-peers): peers probed, gossiped to and kept connections to (active), and its bound (max)',
    () => { const l = gossip.metrics().links; return { active: l.active, max: l.maxPeers }; }, 'view');
  m.labelledGauge('cdn_peer_connections', 'Open connections to peers: in keep-alive pools of active peers (kept), short-lived to others (one_off)',
    () => { const l = gossip.metrics().links; return { kept: l.keptConnections, one_off: l.oneOffConnections }; }, 'kind');
  m.labelledGauge('cdn_placement_members', 'Members bodies are placed on, this node included', () => ({ members: gossip.metrics().custody.placementMembers }), 'view');
}

/** Which Point the node talks to, among those it knows, and its moves away from Points that stopped answering. */
export function exportPointMetrics(m: NodeMetrics, point: Pick<PointLink, 'url' | 'known' | 'state' | 'failovers'>): void {
  m.labelledGauge('cdn_point_known', 'Points this node knows (its --bootstrap list, then those its Point named): 1 for the one it is registered with, 0 for the others',
    () => Object.fromEntries(point.known().map((url) => [url, url === point.url && point.state === 'registered' ? 1 : 0])), 'point');
  m.mirrorCounter('cdn_point_failovers_total', 'Moves to another Point after the current one stopped answering heartbeats',
    () => ({ heartbeats: point.failovers }), 'reason');
}
