/**
 * The Point's wire contract (SPEC §3.3): one zod schema per request body or
 * query and per answer. The server validates at the boundary, the client
 * validates what it gets back, and the OpenAPI document is generated from
 * the same schemas. Unknown keys are rejected; every string and count is bounded.
 */
import { z } from 'zod';
import { NODE_ID_PATTERN } from '../identity/node-id.js';

/** Largest request body the Point reads. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Hard upper bound of `numnodes` / `count`; the configured `maxSample` clamps further. */
export const MAX_SAMPLE = 1000;
export const MAX_REASON_LENGTH = 500;

export const NodeId = z.string().regex(NODE_ID_PATTERN, 'a node id: n followed by 16 lowercase hex digits');
export const SessionKey = z.string().min(1).max(128).describe('the session key returned by /reg');
/** Syntax only; the handler checks it decodes to 32 bytes (POINT_ERR_BAD_PUBLIC_KEY). */
export const PublicKey = z.string().min(1).max(64).describe('base64url of the 32 raw Ed25519 public key bytes');
export const Ip = z.union([z.ipv4(), z.ipv6()]).describe('an IPv4 or IPv6 address');
const Count = z.coerce.number().int().min(1).max(MAX_SAMPLE);

/** 32 random bytes, base64url: what `/reg/challenge` hands out. */
export const Challenge = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a challenge from POST /reg/challenge (43 base64url characters)');
export const RegBody = z.strictObject({
  port: z.number().int().min(1).max(65535).describe('the port the node serves on; the address is taken from the connection'),
  publicKey: PublicKey,
  /** optional: when sent, it must be the id derived from publicKey */
  id: NodeId.optional(),
  joinToken: z.string().min(1).max(128).optional().describe('base64url(HMAC-SHA256(CLUSTER_SECRET, publicKey)); required when the Point has a CLUSTER_SECRET'),
  // optional in the schema so that leaving them out is 401 POINT_ERR_PROOF_REQUIRED, not a 400
  challenge: Challenge.optional().describe('required: a challenge from POST /reg/challenge for this publicKey, unused and unexpired'),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'a base64url Ed25519 signature (86 characters)').optional()
    .describe('required: base64url Ed25519 signature by the private key of publicKey over the UTF-8 of JSON.stringify(["gossip-cdn/reg/v1", challenge, publicKey, port])'),
});
export const ChallengeBody = z.strictObject({ publicKey: PublicKey });
export const KeyBody = z.strictObject({ key: SessionKey });
export const LookQuery = z.strictObject({ key: SessionKey, numnodes: Count.default(8) });
export const CheckQuery = z.strictObject({ key: SessionKey, target: NodeId });
export const BanBody = z.strictObject({ key: SessionKey, ip: Ip, reason: z.string().min(1).max(MAX_REASON_LENGTH) });
export const RemoveBody = z.strictObject({ key: SessionKey, target: NodeId });
export const PointsQuery = z.strictObject({ key: SessionKey, count: Count.default(8) });

export const PublicNodeSchema = z.strictObject({ id: NodeId, ip: Ip, port: z.number().int().min(1).max(65535), publicKey: PublicKey });
export const RegResponse = z.strictObject({
  id: NodeId,
  key: z.string().describe('the secret session key for every other Point call'),
  ttl: z.number().int().min(1).describe('seconds the registration lives without a heartbeat'),
});
export const ChallengeResponse = z.strictObject({
  challenge: Challenge.describe('sign it (see /reg) and send it with /reg; single use'),
  ttl: z.number().int().min(1).describe('seconds the challenge stays usable'),
});
export const HeartbeatResponse = z.strictObject({ id: NodeId, ttl: z.number().int().min(1) });
export const LookResponse = z.array(PublicNodeSchema).max(MAX_SAMPLE);
export const CheckResponse = z.strictObject({
  ...PublicNodeSchema.shape,
  lastSeen: z.string().describe('ISO time of the last reg or heartbeat'),
  expiresAt: z.string().describe('ISO time the registration lapses without a heartbeat'),
  banlistFresh: z.boolean().describe('false when PostgreSQL was unreachable and the ban check used the last snapshot'),
});
export const BanResponse = z.strictObject({
  ip: Ip,
  reports: z.number().int().min(0).describe('distinct reporter addresses within the ban period'),
  quorum: z.number().int().min(1),
  banned: z.boolean(),
  expiresAt: z.string().optional().describe('ISO time the ban lapses unless renewed'),
});
export const RemoveResponse = z.strictObject({
  target: NodeId,
  reports: z.number().int().min(0).describe('distinct reporter addresses within the window'),
  quorum: z.number().int().min(1),
  removed: z.boolean(),
});
export const PointsResponse = z.array(z.strictObject({ url: z.string() })).max(MAX_SAMPLE);
export const BackendStatus = z.strictObject({ kind: z.string(), up: z.boolean() });
export const HealthResponse = z.strictObject({
  status: z.enum(['ok', 'degraded']),
  registry: BackendStatus,
  banlist: BackendStatus,
});
export const ErrorResponse = z.strictObject({
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});

export type RegRequest = z.infer<typeof RegBody>;
export type PublicNodeWire = z.infer<typeof PublicNodeSchema>;
export type RegResult = z.infer<typeof RegResponse>;
export type ChallengeResult = z.infer<typeof ChallengeResponse>;
export type HeartbeatResult = z.infer<typeof HeartbeatResponse>;
export type CheckResult = z.infer<typeof CheckResponse>;
export type BanResult = z.infer<typeof BanResponse>;
export type RemoveResult = z.infer<typeof RemoveResponse>;
export type PointsResult = z.infer<typeof PointsResponse>;
export type HealthResult = z.infer<typeof HealthResponse>;
