/**
 * What `GET /cluster` answers and the status page draws: one node's view of
 * the cluster. A type module of its own, so the routes, the page, the node
 * that fills it and the client that reads it all depend on it and not on
 * each other. One pure helper formats a clock offset for both.
 */

export interface PeerView {
  id: string;
  address: string;
  state: 'alive' | 'suspect' | 'dead' | 'left';
  incarnation: number;
  lastContact: string | null;
  /** median offset of the peer's wall clock from this node's, seconds (positive: ahead); null before its first answer */
  clockOffsetSeconds: number | null;
}

/** This node's clock against its peers' (proposals/0011-clocks.md). */
export interface ClockView {
  /** --max-clock-skew, seconds */
  limitSeconds: number;
  /** peers heard from in the last two minutes */
  peers: number;
  /** of them, those further off than the limit */
  peersBeyond: number;
  /** median of their offsets from this node, seconds */
  medianOffsetSeconds: number;
  /** most peers are past the limit: this node's clock is the one off, and /readyz says 503 */
  disagrees: boolean;
}

export interface ClusterView {
  id: string;
  publicKey: string;
  address: string;
  startedAt: string;
  peers: PeerView[];
  clock: ClockView;
  /**
   * The active view (--max-peers, proposals/0001 "Peer links"): the peers this
   * node probes, gossips to and keeps connections to; `peers` lists the rest
   * of what it knows too. Every live member while there are at most maxPeers.
   */
  activeView: {
    maxPeers: number;
    /** ids of the active peers */
    peers: string[];
    /** peers with a keep-alive pool, and open connections: kept (pooled) and one-off (to members outside the view) */
    keptPeers: number;
    connections: { kept: number; oneOff: number };
  };
  blobs: { live: number; keys: number; bodies: number; bytes: number; quotaBytes: number };
  /**
   * The Point this node is registered with (or trying now), every Point it
   * knows (its --bootstrap list, then those that Point named in /points), and
   * how many times it moved away from a Point that stopped answering.
   */
  point: { url: string; state: string; lastError: string | null; known: string[]; failovers: number };
  /** versions adopted from peers lately: how long after their creation, and conflicts seen */
  replication: { samples: number; lagMedianMs: number | null; lagMaxMs: number | null; conflictsDetected: number; conflictsResolved: number };
  /**
   * Which bodies this node keeps (proposals/0010-placement.md): those it owns,
   * copies it does not own kept as cache (bounded by --cache-size), copies
   * waiting for every owner to confirm before they go (the hand-off
   * backlog), and owned bodies it still has to fetch.
   */
  placement: {
    replicas: number | 'all';
    zone: string | null;
    writeCopies: number;
    /** members bodies are placed on, this node included */
    members: number;
    owned: { bodies: number; bytes: number };
    cached: { bodies: number; bytes: number; limitBytes: number };
    handoff: { bodies: number; bytes: number };
    missing: { bodies: number; bytes: number };
  };
}

/** A peer's clock offset from this node, as the page and the CLI print it. */
export function offsetText(seconds: number | null): string {
  if (seconds === null) return '—';
  return `${seconds > 0 ? '+' : ''}${Math.abs(seconds) < 10 ? seconds.toFixed(2) : Math.round(seconds)} s`;
}
