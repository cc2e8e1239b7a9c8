/**
 * `GET /cluster?nodes=1`: this node's view plus each live (or suspect) peer's
 * own blob and byte counts, asked of the peers' public `/cluster` with a short
 * timeout, so the status page can show counts per node without the browser
 * talking to other origins. Bounded: at most MAX_PEERS peers, one request per
 * peer per CACHE_MS however many pages are open. Over HTTPS, verified
 * against the node's CA, when the node has TLS.
 */
import { Agent, request } from 'undici';
import type { ClusterView } from './cluster-view.js';
import { PLAIN_DIALING, trustOf, type Dialing } from '../tls.js';

/** Peers asked per call; a bigger cluster shows counts for the first ones only. */
const MAX_PEERS = 32;
/** A peer's answer is reused for this long. */
const CACHE_MS = 1_000;
/** A peer slower than this shows as unreachable on the page. */
const PEER_TIMEOUT_MS = 800;

export interface NodeCounts {
  id: string;
  address: string;
  reachable: boolean;
  blobs: ClusterView['blobs'] | null;
}

/** One agent per way of dialling (a node has one: plain, or its CA). */
const agents = new WeakMap<Dialing, Agent>();

function agentFor(dialing: Dialing): Agent {
  let agent = agents.get(dialing);
  if (agent === undefined) {
    agent = new Agent({ connect: { timeout: PEER_TIMEOUT_MS, ...trustOf(dialing) }, headersTimeout: PEER_TIMEOUT_MS, bodyTimeout: PEER_TIMEOUT_MS, keepAliveTimeout: 10_000 });
    agents.set(dialing, agent);
  }
  return agent;
}
const cache = new Map<string, { at: number; counts: Promise<NodeCounts> }>();

async function askPeer(id: string, address: string, dialing: Dialing): Promise<NodeCounts> {
  try {
    const res = await request(`${dialing.scheme}://${address}/cluster`, { dispatcher: agentFor(dialing), signal: AbortSignal.timeout(PEER_TIMEOUT_MS * 2) });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { id, address, reachable: false, blobs: null };
    }
    const view = await res.body.json() as Partial<ClusterView>;
    if (view.id !== id || typeof view.blobs !== 'object') return { id, address, reachable: false, blobs: null };
    return { id, address, reachable: true, blobs: view.blobs };
  } catch {
    return { id, address, reachable: false, blobs: null };
  }
}

function cachedCounts(id: string, address: string, now: number, dialing: Dialing): Promise<NodeCounts> {
  const key = `${dialing.scheme}:${id}@${address}`;
  const hit = cache.get(key);
  if (hit !== undefined && now - hit.at < CACHE_MS) return hit.counts;
  const counts = askPeer(id, address, dialing);
  cache.set(key, { at: now, counts });
  if (cache.size > MAX_PEERS * 4) {
    for (const [k, v] of cache) if (now - v.at >= CACHE_MS) cache.delete(k);
  }
  return counts;
}

/** Counts for this node (first) and for each alive or suspect peer. */
export async function countsPerNode(view: ClusterView, now = Date.now(), dialing: Dialing = PLAIN_DIALING): Promise<NodeCounts[]> {
  const peers = view.peers.filter((p) => p.state === 'alive' || p.state === 'suspect').slice(0, MAX_PEERS);
  const others = await Promise.all(peers.map((p) => cachedCounts(p.id, p.address, now, dialing)));
  return [{ id: view.id, address: view.address, reachable: true, blobs: view.blobs }, ...others];
}
