/**
 * Hostile peers for security tests, run inside the test process: each has its
 * own Ed25519 key and its own loopback address (so the Point and the nodes
 * see a distinct IP), and speaks the real wire: signed gossip to nodes, JSON
 * to the Point.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { nextHost, type ClusterNode } from './cluster.js';
import { generateIdentity, type NodeIdentity } from '../../src/identity/keystore.js';
import { signRequest } from '../../src/gossip/shell/signing.js';
import { PROTOCOL_VERSION } from '../../src/gossip/core/messages.js';
import { regProofMessage } from '../../src/bootstrap/caller.js';

export interface Answer {
  status: number;
  code: string | undefined;
  json: unknown;
}

export interface Rogue {
  identity: NodeIdentity;
  host: string;
  agent: Agent;
  /** POSTs a gossip message to a node, signed by this rogue unless `headers` replace the signature */
  send(node: Pick<ClusterNode, 'url'>, body: string, headers?: Record<string, string>): Promise<Answer & { headers: Record<string, string> }>;
  /** a signed GET of a node-to-node path (e.g. /gossip/keys/{guid}), as a member would ask */
  get(node: Pick<ClusterNode, 'url'>, path: string): Promise<Answer>;
  /** calls the Point from this rogue's address */
  point(pointUrl: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer>;
  /**
   * POST /reg from this rogue's address with a proof of key possession: a
   * challenge for `publicKey` (this rogue's own key unless `extra` names
   * another) signed by `signer` (this rogue's identity by default).
   */
  register(pointUrl: string, port: number, extra?: Record<string, unknown>, signer?: NodeIdentity): Promise<Answer>;
  close(): Promise<void>;
}

async function answer(res: { statusCode: number; body: { text(): Promise<string> } }): Promise<Answer> {
  const text = await res.body.text();
  let json: unknown;
  try { json = text === '' ? undefined : JSON.parse(text); } catch { json = text; }
  return { status: res.statusCode, code: (json as { error?: { code?: string } } | undefined)?.error?.code, json };
}

export function rogue(identity = generateIdentity(), host = nextHost()): Rogue {
  const agent = new Agent({ localAddress: host });
  return {
    identity, host, agent,
    async send(node, body, headers) {
      const signed = headers ?? signRequest(identity, 'POST', '/gossip/message', body, Date.now(), randomBytes(16).toString('base64url'));
      const res = await request(`${node.url}/gossip/message`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...signed }, dispatcher: agent });
      return { ...(await answer(res)), headers: signed };
    },
    async get(node, path) {
      const headers = signRequest(identity, 'GET', path, '', Date.now(), randomBytes(16).toString('base64url'));
      return answer(await request(`${node.url}${path}`, { method: 'GET', headers, dispatcher: agent }));
    },
    async point(pointUrl, method, path, body) {
      const res = await request(`${pointUrl}${path}`, {
        method, dispatcher: agent,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      return answer(res);
    },
    async register(pointUrl, port, extra = {}, signer = identity) {
      const publicKey = typeof extra.publicKey === 'string' ? extra.publicKey : signer.publicKey;
      const issued = await this.point(pointUrl, 'POST', '/reg/challenge', { publicKey });
      if (issued.status !== 201) return issued;
      const { challenge } = issued.json as { challenge: string };
      return this.point(pointUrl, 'POST', '/reg', { port, publicKey, challenge, signature: signer.sign(regProofMessage(challenge, publicKey, port)), ...extra });
    },
    close: () => agent.close(),
  };
}

/** A gossip ping from `from`. */
export function ping(from: string, seq = 1): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, from, type: 'ping', seq });
}
