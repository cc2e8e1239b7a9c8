/**
 * The gossip wire protocol: one JSON message per HTTP request body (POST
 * /gossip/message), signed by the sender (src/gossip/signing.ts). A
 * discriminated union of message types, each with a schema; named limits on
 * every size and count; a protocol version range. Anything that does not
 * parse is refused with 400 GOSSIP_ERR_BAD_MESSAGE and counts against the
 * sender. Design: proposals/0001-gossip-protocol.md.
 */
import { z } from 'zod';
import { versionSchema } from '../../consensus/schema.js';
import { NODE_ID_PATTERN } from '../../identity/node-id.js';
import { MAX_CLOCK_COUNTER, MAX_CLOCK_ENTRIES } from '../../consensus/vector-clock.js';

/**
 * 2: versions carry their origin's key and signature (and the token id that
 * authorised the write), and a node refuses unsigned ones; a version-1 node
 * sends neither, and its strict schema refuses the new fields, so the two do
 * not speak (issue 13).
 */
export const PROTOCOL_VERSION_MIN = 2;
export const PROTOCOL_VERSION_MAX = 2;
export const PROTOCOL_VERSION = 2;

/** Named bounds on what one message may carry. */
export const LIMITS = {
  /** a whole message body, bytes */
  maxMessageBytes: 1024 * 1024,
  /** membership updates piggybacked on any message */
  maxPiggybackUpdates: 32,
  /** members in one full membership sync */
  maxMembers: 4096,
  /** versions in one `versions` message */
  maxVersions: 256,
  /** sha256s a sender says it holds */
  maxHeld: 256,
  /** tree nodes in one anti-entropy step */
  maxAeNodes: 4096,
  /** key digests in one anti-entropy step */
  maxAeKeys: 4096,
  /** keys asked for in one `ae-want` */
  maxAeWant: 1024,
  /** hops a rumor travels before only anti-entropy carries it further */
  maxHops: 64,
  /** revocations of client tokens in one `revocations` message */
  maxRevocations: 128,
  /** characters of one revocation (a compact JWS) */
  maxRevocationChars: 2048,
} as const;

const nodeId = z.string().regex(NODE_ID_PATTERN, 'must be a node id');
const address = z.string().max(262).regex(/^[^\s/]+:\d{1,5}$/, 'must be HOST:PORT');
const publicKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be base64url of 32 bytes');
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const treePath = z.string().regex(/^[0-9a-f]{0,8}$/, 'must be a hex tree path');
const hash64 = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits');
const packedChildren = z.string().regex(/^[0-9a-f]{64}$/, 'must be 16 children × 4 hex digits');
/** the sum of a set's context counters (versions.ts causalWeight): at most MAX_CLOCK_ENTRIES counters of at most MAX_CLOCK_COUNTER */
const causalWeight = z.number().int().min(0).max(MAX_CLOCK_ENTRIES * MAX_CLOCK_COUNTER);
const sessionId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);
const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

/** A zone name (--zone): letters, digits, '.', '_', '-', at most 64. */
export const ZONE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export const peerInfoSchema = z.strictObject({ id: nodeId, address, publicKey });

/** A claim about one member, spread by piggybacking and by full syncs. */
export const memberUpdateSchema = z.strictObject({
  id: nodeId,
  address,
  publicKey,
  incarnation: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  state: z.enum(['alive', 'suspect', 'dead', 'left']),
  /**
   * who made the claim (the accuser of a `suspect`, the node that declared a
   * `dead`); forwarders keep it, so receivers count independent accusers
   * (Lifeguard suspicion confirmations), not the nodes that relayed one rumor
   */
  by: nodeId.optional(),
  /** the member's zone (--zone), for body placement; claims from before zones existed carry none */
  zone: z.string().regex(ZONE_PATTERN, 'must be a zone name').optional(),
});
export type MemberUpdate = z.infer<typeof memberUpdateSchema>;

const base = {
  v: z.number().int().min(PROTOCOL_VERSION_MIN).max(PROTOCOL_VERSION_MAX),
  from: nodeId,
  updates: z.array(memberUpdateSchema).max(LIMITS.maxPiggybackUpdates).optional(),
};

export const gossipMessageSchema = z.discriminatedUnion('type', [
  /** SWIM direct probe; answered by `ack` with the same seq */
  z.strictObject({ ...base, type: z.literal('ping'), seq }),
  z.strictObject({ ...base, type: z.literal('ack'), seq }),
  /** SWIM indirect probe: "ping `target` for me"; answered by `ack` (target answered) or `nack` (it did not) */
  z.strictObject({ ...base, type: z.literal('ping-req'), seq, target: peerInfoSchema }),
  z.strictObject({ ...base, type: z.literal('nack'), seq }),
  /** full membership push-pull: the sender's whole view; `reply` asks for the receiver's in return */
  z.strictObject({ ...base, type: z.literal('members'), members: z.array(memberUpdateSchema).max(LIMITS.maxMembers), reply: z.boolean() }),
  /** new versions' metadata (never bodies); `held` lists bodies the sender has; `hops` counts forwarding */
  z.strictObject({
    ...base,
    type: z.literal('versions'),
    versions: z.array(versionSchema).max(LIMITS.maxVersions),
    held: z.array(sha256).max(LIMITS.maxHeld),
    hops: z.number().int().min(0).max(LIMITS.maxHops),
  }),
  /**
   * anti-entropy descent: the sender's hashes for these tree nodes. The
   * receiver answers with its hashes for the children of every node that
   * differs, or, at the leaves, with `ae-keys`.
   */
  z.strictObject({
    ...base,
    type: z.literal('ae-nodes'),
    sid: sessionId,
    nodes: z.array(z.tuple([treePath, hash64])).max(LIMITS.maxAeNodes),
    /**
     * optional compact form of a descent step: for each parent path, its 16
     * children's hashes packed as 16 × 4 hex digits (a 16-bit slice of each
     * child's hash, salted by `sid`), child 0 first. See anti-entropy.ts.
     */
    children: z.array(z.tuple([treePath, packedChildren])).max(LIMITS.maxAeNodes).optional(),
  }),
  /** anti-entropy leaves: the sender's digest of every key in these buckets; the receiver sends back what differs */
  z.strictObject({
    ...base,
    type: z.literal('ae-keys'),
    sid: sessionId,
    buckets: z.array(treePath).max(LIMITS.maxAeNodes),
    /** [key, digest] or [key, digest, causal weight of the sender's set]: a lighter receiver asks instead of sending */
    keys: z.array(z.union([z.tuple([guid, hash64]), z.tuple([guid, hash64, causalWeight])])).max(LIMITS.maxAeKeys),
  }),
  /** anti-entropy: "send me your versions of these keys" */
  z.strictObject({ ...base, type: z.literal('ae-want'), sid: sessionId, keys: z.array(guid).max(LIMITS.maxAeWant) }),
  /**
   * placement hand-off: "which of these bodies do you hold?", asked of a
   * body's owners by a node that holds a copy it does not own, before it
   * drops the copy (proposals/0010-placement.md)
   */
  z.strictObject({ ...base, type: z.literal('have-query'), shas: z.array(sha256).min(1).max(LIMITS.maxHeld) }),
  /** the answer: the ones among them the sender holds */
  z.strictObject({ ...base, type: z.literal('have'), shas: z.array(sha256).max(LIMITS.maxHeld) }),
  /** tombstones (tombstones.ts): "what do you hold of these keys?" */
  z.strictObject({ ...base, type: z.literal('key-query'), keys: z.array(guid).min(1).max(LIMITS.maxAeWant) }),
  /** the answer, every asked key in one list; `witness`: the sender is up long enough and not rejoining itself */
  z.strictObject({
    ...base,
    type: z.literal('key-state'),
    absent: z.array(guid).max(LIMITS.maxAeWant),
    tombstoned: z.array(guid).max(LIMITS.maxAeWant),
    live: z.array(guid).max(LIMITS.maxAeWant),
    witness: z.boolean(),
    /** the sender is itself rejoining pull-only (absent: not known) */
    rejoining: z.boolean().optional(),
  }),
  /** a writer gave up on staged versions (write copies not reached in time): forget them, they were never committed */
  z.strictObject({ ...base, type: z.literal('unstage'), versions: z.array(versionSchema).min(1).max(16) }),
  /**
   * revocations of client tokens: opaque admin-signed strings the core only
   * carries (the shell verifies them). Sent to POST /gossip/revocations, not
   * /gossip/message, so a node from before them answers 404, harmlessly.
   */
  z.strictObject({
    ...base,
    type: z.literal('revocations'),
    items: z.array(z.string().max(LIMITS.maxRevocationChars).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a compact JWS')).min(1).max(LIMITS.maxRevocations),
  }),
  /** a member leaving on purpose (SIGTERM); also carried as a `left` update */
  z.strictObject({ ...base, type: z.literal('leave'), incarnation: z.number().int().min(0) }),
]);

export type GossipMessage = z.infer<typeof gossipMessageSchema>;
export type GossipMessageType = GossipMessage['type'];
export type MessageOf<T extends GossipMessageType> = Extract<GossipMessage, { type: T }>;

/** Distributes Omit over the union, so a message can be built without its envelope fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type MessageBody = DistributiveOmit<GossipMessage, 'v' | 'from'>;

/** Parses an untrusted message; throws a ZodError naming what is wrong. */
export function parseGossipMessage(value: unknown): GossipMessage {
  return gossipMessageSchema.parse(value);
}
