/**
 * POST /auth/revocations: takes a revocation signed by the cluster's admin
 * key (`gossip-cdn auth revoke`), keeps it durably, and spreads it by gossip.
 * Body `{"revocation": JWS}`, at most 8 KiB. 202 when it is new here, 200 when
 * already held; 401 when it is not signed by the admin key (or is not a
 * revocation, or is past its exp); 507 past MAX_LIVE_REVOCATIONS; 403 on a
 * node without --auth-public-key (it takes no tokens, so no revocations).
 */
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { CdnError } from '../errors.js';
import { sendJson } from '../http/respond.js';
import type { ClientAuth } from './guard.js';
import { MAX_TOKEN_CHARS } from './tokens.js';

const MAX_BODY_BYTES = 8 * 1024;
const bodySchema = z.strictObject({ revocation: z.string().min(1).max(MAX_TOKEN_CHARS) });
const raw = express.raw({ type: () => true, limit: MAX_BODY_BYTES });

export async function handleRevocation(auth: ClientAuth | undefined, req: Request, res: Response): Promise<void> {
  if (auth === undefined) throw new CdnError('CDN_ERR_FORBIDDEN', 'this node takes no client tokens (no --auth-public-key), so it takes no revocations');
  await new Promise<void>((resolve, reject) => {
    raw(req, res, (err?: unknown) => {
      if (err === undefined) resolve();
      else reject(new CdnError('CDN_ERR_BAD_BODY', `the body must be JSON {"revocation": JWS} of at most ${MAX_BODY_BYTES} bytes`));
    });
  });
  let parsed;
  try {
    parsed = bodySchema.safeParse(JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : ''));
  } catch {
    parsed = undefined;
  }
  if (parsed?.success !== true) throw new CdnError('CDN_ERR_BAD_BODY', 'the body must be JSON {"revocation": JWS}');
  const result = await auth.revocations.add(parsed.data.revocation);
  switch (result) {
    case 'invalid':
      throw new CdnError('CDN_ERR_UNAUTHORIZED', 'the revocation is not signed by this cluster\'s admin key, or is malformed or past its exp');
    case 'full':
      throw new CdnError('CDN_ERR_REVOCATIONS_FULL');
    case 'known':
      sendJson(res, 200, { revoked: true, new: false });
      return;
    case 'added':
      auth.spread?.(parsed.data.revocation);
      sendJson(res, 202, { revoked: true, new: true });
  }
}
