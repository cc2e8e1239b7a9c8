/**
 * The handlers of every SPEC §3.3 call. Each one validates at the boundary
 * (zod; unknown keys rejected), authenticates by session key before touching
 * anything else, and answers JSON. Errors are thrown as CdnError and shaped by
 * the app's error handler.
 */
import type { Express, Request, Response } from 'express';
import type { z } from 'zod';
import { CdnError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import { idMatchesKey, isPublicKey, nodeIdFromPublicKey } from '../identity/node-id.js';
import { verifySignature } from '../identity/keystore.js';
import { joinTokenValid, normaliseIp, regProofMessage } from './caller.js';
import type { PointContext } from './context.js';
import type { NodeRecord } from './registry.js';
import {
  BanBody, ChallengeBody, CheckQuery, KeyBody, LookQuery, PointsQuery, RegBody, RemoveBody,
  type BanResult, type ChallengeResult, type CheckResult, type HeartbeatResult, type PointsResult, type PublicNodeWire, type RegResult, type RemoveResult,
} from './schemas.js';

/** The caller's address, from the socket only. */
export function callerIp(req: Request): string {
  const ip = normaliseIp(req.socket.remoteAddress);
  if (ip === undefined) throw new CdnError('POINT_ERR_BAD_REQUEST', 'the connection has no peer address');
  return ip;
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
  throw new CdnError('POINT_ERR_BAD_REQUEST', `${where}${issue?.message ?? 'invalid input'}`);
}

function asObject(input: unknown, what: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CdnError('POINT_ERR_BAD_REQUEST', `the ${what} must be a JSON object (Content-Type: application/json)`);
  }
  return input as Record<string, unknown>;
}

/**
 * Every call but reg needs a session key: a missing one is 401 before the
 * schema is looked at; a malformed input is 400 before Redis is asked.
 */
function keyed<S extends z.ZodType<{ key: string }>>(schema: S, input: unknown, what: string): z.infer<S> {
  const raw = asObject(input, what);
  if (typeof raw.key !== 'string' || raw.key.length === 0) throw new CdnError('POINT_ERR_UNAUTHORIZED', 'a session key (key) is required; get one from POST /reg');
  return parse(schema, raw);
}

async function authenticate<S extends z.ZodType<{ key: string }>>(ctx: PointContext, schema: S, input: unknown, what: string): Promise<{ caller: NodeRecord; input: z.infer<S> }> {
  const parsed = keyed(schema, input, what);
  const caller = await ctx.registry.authenticate(parsed.key);
  if (caller === undefined) throw new CdnError('POINT_ERR_UNAUTHORIZED');
  return { caller, input: parsed };
}

/** Mounts the SPEC §3.3 calls on `app` directly (no nested router: one less layer per request). */
/** The answer to a look query: authentication and sampling are one EVALSHA (see look-script.ts). */
export async function lookAnswer(ctx: PointContext, query: unknown): Promise<PublicNodeWire[]> {
  const input = keyed(LookQuery, query, 'query');
  const nodes = await ctx.registry.look(input.key, Math.min(input.numnodes, ctx.config.maxSample));
  if (nodes === undefined) throw new CdnError('POINT_ERR_UNAUTHORIZED');
  return nodes.filter((n) => !ctx.banCache.has(n.ip));
}

export function mountPointRoutes(app: Express, ctx: PointContext): void {
  const ttlMs = ctx.config.heartbeatTtlSec * 1000;
  const clamp = (n: number): number => Math.min(n, ctx.config.maxSample);

  // A challenge to sign: 32 random bytes, kept in the registry (shared by every Point on it) for challengeTtlSec.
  app.post('/reg/challenge', async (req: Request, res: Response) => {
    const body = parse(ChallengeBody, asObject(req.body, 'body'));
    if (!isPublicKey(body.publicKey)) throw new CdnError('POINT_ERR_BAD_PUBLIC_KEY');
    const ip = callerIp(req);
    const challenge = randomBytes(32).toString('base64url');
    const { challengeTtlSec, maxChallenges, maxChallengesTotal } = ctx.config;
    const issued = await ctx.registry.issueChallenge(challenge, body.publicKey, ip, challengeTtlSec * 1000, { perIp: maxChallenges, total: maxChallengesTotal });
    if (issued !== true) {
      ctx.metrics.rateLimited.inc({ reason: 'challenges' });
      throw new CdnError('POINT_ERR_RATE_LIMITED', 'too many unused registration challenges; use or let lapse the ones issued', { details: { retryAfter: challengeTtlSec } });
    }
    const answer: ChallengeResult = { challenge, ttl: challengeTtlSec };
    res.status(201).json(answer);
  });

  app.post('/reg', async (req: Request, res: Response) => {
    const body = parse(RegBody, asObject(req.body, 'body'));
    if (!isPublicKey(body.publicKey)) throw new CdnError('POINT_ERR_BAD_PUBLIC_KEY');
    if (body.id !== undefined && !idMatchesKey(body.id, body.publicKey)) throw new CdnError('POINT_ERR_ID_MISMATCH');
    const secret = ctx.config.clusterSecret;
    if (secret !== undefined && !joinTokenValid(secret, body.publicKey, body.joinToken)) throw new CdnError('POINT_ERR_BAD_JOIN_TOKEN');
    if (body.challenge === undefined || body.signature === undefined) throw new CdnError('POINT_ERR_PROOF_REQUIRED');
    // The signature first (it burns nothing), then the challenge, once: it must have been issued for this key.
    if (!verifySignature(body.publicKey, regProofMessage(body.challenge, body.publicKey, body.port), body.signature)) throw new CdnError('POINT_ERR_BAD_PROOF');
    if ((await ctx.registry.takeChallenge(body.challenge)) !== body.publicKey) throw new CdnError('POINT_ERR_BAD_PROOF');
    const ip = callerIp(req);
    if (await ctx.banlist.isBanned(ip)) {
      ctx.banCache.add(ip);
      throw new CdnError('POINT_ERR_BANNED');
    }
    const id = nodeIdFromPublicKey(body.publicKey);
    const live = await ctx.registry.get(id);
    if (live !== undefined && live.ip !== ip) throw new CdnError('POINT_ERR_ID_TAKEN');
    const key = ctx.newSessionKey();
    await ctx.registry.register({ id, ip, port: body.port, publicKey: body.publicKey, sessionKey: key }, ttlMs);
    ctx.metrics.registrations.inc();
    ctx.logger.debug({ id, ip, port: body.port }, 'registered');
    const answer: RegResult = { id, key, ttl: ctx.config.heartbeatTtlSec };
    res.status(201).json(answer);
  });

  app.post('/heartbeat', async (req, res) => {
    const { caller } = await authenticate(ctx, KeyBody, req.body, 'body');
    if (ctx.banCache.has(caller.ip)) {
      await ctx.registry.remove(caller.id);
      ctx.metrics.removed.inc({ reason: 'banned' });
      throw new CdnError('POINT_ERR_BANNED');
    }
    if (!(await ctx.registry.heartbeat(caller.id, ttlMs))) throw new CdnError('POINT_ERR_UNAUTHORIZED', 'the registration lapsed; register again');
    const answer: HeartbeatResult = { id: caller.id, ttl: ctx.config.heartbeatTtlSec };
    res.json(answer);
  });

  app.get('/look', async (req, res) => {
    res.json(await lookAnswer(ctx, req.query));
  });

  app.get('/check', async (req, res) => {
    const { input } = await authenticate(ctx, CheckQuery, req.query, 'query');
    const target = await ctx.registry.get(input.target);
    if (target === undefined) throw new CdnError('POINT_ERR_NOT_FOUND');
    let banned = ctx.banCache.has(target.ip);
    let banlistFresh = true;
    try {
      banned ||= await ctx.banlist.isBanned(target.ip);
    } catch (err) {
      if (!(err instanceof CdnError) || err.code !== 'POINT_ERR_POSTGRES_UNAVAILABLE') throw err;
      banlistFresh = false; // PostgreSQL is down: answer from the last snapshot, and say so
    }
    if (banned) throw new CdnError('POINT_ERR_NOT_FOUND');
    const answer: CheckResult = {
      id: target.id, ip: target.ip, port: target.port, publicKey: target.publicKey,
      lastSeen: new Date(target.lastSeen).toISOString(), expiresAt: new Date(target.expiresAt).toISOString(), banlistFresh,
    };
    res.json(answer);
  });

  app.post('/ban', async (req, res) => {
    const { caller, input } = await authenticate(ctx, BanBody, req.body, 'body');
    const ip = normaliseIp(input.ip) as string;
    if (ip === caller.ip) throw new CdnError('POINT_ERR_BAD_REQUEST', 'ip: a node cannot report its own address');
    const outcome = await ctx.banlist.report({ reporterId: caller.id, reporterIp: caller.ip, ip, reason: input.reason });
    ctx.metrics.banReports.inc();
    if (outcome.banned && outcome.reports >= outcome.quorum) {
      ctx.metrics.bans.inc();
      ctx.banCache.add(ip);
      const dropped = await ctx.registry.removeByIp(ip);
      ctx.metrics.removed.inc({ reason: 'banned' }, dropped.length);
      ctx.logger.info({ ip, reports: outcome.reports, dropped }, 'address banned');
    }
    const answer: BanResult = { ip, reports: outcome.reports, quorum: outcome.quorum, banned: outcome.banned };
    if (outcome.expiresAt !== undefined) answer.expiresAt = outcome.expiresAt.toISOString();
    res.json(answer);
  });

  app.post('/remove', async (req, res) => {
    const { caller, input } = await authenticate(ctx, RemoveBody, req.body, 'body');
    if (input.target === caller.id) {
      // A node naming itself is leaving on purpose (graceful shutdown): its own word, under its
      // own session key, needs no quorum.
      await ctx.registry.remove(caller.id);
      ctx.metrics.removed.inc({ reason: 'left' });
      const answer: RemoveResult = { target: caller.id, reports: 1, quorum: 1, removed: true };
      res.json(answer);
      return;
    }
    if ((await ctx.registry.get(input.target)) === undefined) throw new CdnError('POINT_ERR_NOT_FOUND');
    const { removeQuorum: quorum, removeWindowSec } = ctx.config;
    const outcome = await ctx.registry.reportUnreachable(input.target, caller.ip, quorum, removeWindowSec * 1000);
    if (outcome.removed) ctx.metrics.removed.inc({ reason: 'unreachable' });
    const answer: RemoveResult = { target: input.target, reports: outcome.reports, quorum, removed: outcome.removed };
    res.json(answer);
  });

  app.get('/points', async (req, res) => {
    const { input } = await authenticate(ctx, PointsQuery, req.query, 'query');
    const pool = [...ctx.config.peerPoints];
    const answer: PointsResult = [];
    while (pool.length > 0 && answer.length < clamp(input.count)) {
      const [url] = pool.splice(Math.floor(ctx.random() * pool.length), 1);
      if (url !== undefined) answer.push({ url });
    }
    res.json(answer);
  });
}
