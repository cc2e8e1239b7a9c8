/**
 * What `GET /cluster` answers and the status page draws: one node's view of
 * the cluster. A type module of its own, so the routes, the page, the node
 * that fills it and the client that reads it all depend on it and not on
 * each other.
 */

export interface PeerView {
  id: string;
  address: string;
  state: 'alive' | 'suspect' | 'dead' | 'left';
  incarnation: number;
  lastContact: string | null;
}

export interface ClusterView {
  id: string;
  publicKey: string;
  address: string;
  startedAt: string;
  peers: PeerView[];
  blobs: { live: number; keys: number; bodies: number; bytes: number; quotaBytes: number };
  point: { url: string; state: string; lastError: string | null };
  /** versions adopted from peers lately: how long after their creation, and conflicts seen */
  replication: { samples: number; lagMedianMs: number | null; lagMaxMs: number | null; conflictsDetected: number; conflictsResolved: number };
}
