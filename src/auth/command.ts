/**
 * `gossip-cdn auth init|token|url|revoke` (issue 13): the operator's side of
 * client tokens. The admin private key never leaves the operator's machine;
 * nodes get only its public key (--auth-public-key). jose is loaded here, by
 * these subcommands only, never on the client's put/get path.
 */
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { fail } from '../cli-support.js';
import { DEFAULT_NODE_URL } from '../client/defaults.js';
import { SCOPES, ttlSchema, type Scope } from './claims.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface KeyFlags { adminKey?: string }

function adminKeyOption(): Option {
  return new Option('--admin-key <file>', 'the admin private key (from gossip-cdn auth init)').env('ADMIN_KEY');
}

function ttlSeconds(text: string, flag: string): number {
  const parsed = ttlSchema.safeParse(text.trim());
  if (!parsed.success) throw new Error(`${flag}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

function guidOf(text: string, flag: string): string {
  if (!GUID.test(text.trim())) throw new Error(`${flag}: must be a GUID`);
  return text.trim().toLowerCase();
}

function keyFile(flags: KeyFlags): string {
  if (flags.adminKey === undefined || flags.adminKey === '') throw new Error('--admin-key (ADMIN_KEY): required: the admin private key file from gossip-cdn auth init');
  return flags.adminKey;
}

function nodeBase(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--node (NODE_URL): not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('--node (NODE_URL): must be an http:// or https:// URL');
  return url;
}

async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    fail(err);
  }
}

export function registerAuthCommand(program: Command): void {
  const auth = program.command('auth').description('client tokens: the admin key, tokens, presigned URLs, revocations');

  auth
    .command('init')
    .description('create the cluster\'s Ed25519 admin key pair (private key mode 0600, never overwritten); prints the public key for --auth-public-key')
    .addOption(new Option('--dir <dir>', 'where to write admin-key.pem and admin-key.pub (default: the current directory)').env('AUTH_DIR'))
    .action(async (flags: { dir?: string }) => run(async () => {
      const { initAdminKey } = await import('./tokens.js');
      const made = await initAdminKey(resolve(flags.dir ?? '.'));
      process.stdout.write(`${made.publicKey}\n`);
      process.stderr.write(`admin key: ${made.keyFile} (keep it secret)\npublic key: ${made.publicKeyFile}\nstart nodes with --auth-public-key ${made.publicKey}\n`);
    }));

  auth
    .command('token')
    .description('print a client token signed by the admin key')
    .addOption(adminKeyOption())
    .addOption(new Option('--scope <scope>', `${SCOPES.join(', ')}`).env('TOKEN_SCOPE'))
    .addOption(new Option('--ttl <duration>', 'how long it is valid: 45s, 90m, 12h, 30d, 1w').env('TOKEN_TTL').default('30d'))
    .addOption(new Option('--blob <guid>', 'bind the token to this one blob').env('TOKEN_BLOB'))
    .action(async (flags: KeyFlags & { scope?: string; ttl: string; blob?: string }) => run(async () => {
      const scope = z.enum(SCOPES).safeParse(flags.scope);
      if (!scope.success) throw new Error(`--scope (TOKEN_SCOPE): must be one of ${SCOPES.join(', ')}`);
      const ttl = ttlSeconds(flags.ttl, '--ttl (TOKEN_TTL)');
      const blob = flags.blob === undefined ? undefined : guidOf(flags.blob, '--blob (TOKEN_BLOB)');
      const { mintToken, readAdminKey } = await import('./tokens.js');
      const { token } = await mintToken(await readAdminKey(keyFile(flags)), { scope: scope.data as Scope, ttlSeconds: ttl, blob });
      process.stdout.write(`${token}\n`);
    }));

  auth
    .command('url')
    .description('print a presigned GET URL for one blob (a read token bound to it, in ?token=)')
    .argument('<guid>', 'the blob')
    .addOption(adminKeyOption())
    .addOption(new Option('--ttl <duration>', 'how long the URL works: 45s, 90m, 12h, 30d').env('URL_TTL').default('1h'))
    .addOption(new Option('--node <url>', 'the node the URL points at').env('NODE_URL').default(DEFAULT_NODE_URL))
    .action(async (guid: string, flags: KeyFlags & { ttl: string; node: string }) => run(async () => {
      const blob = guidOf(guid, 'GUID');
      const ttl = ttlSeconds(flags.ttl, '--ttl (URL_TTL)');
      const base = nodeBase(flags.node);
      const { mintToken, readAdminKey } = await import('./tokens.js');
      const { token } = await mintToken(await readAdminKey(keyFile(flags)), { scope: 'read', ttlSeconds: ttl, blob });
      const url = new URL(`blobs/${blob}`, base.href.endsWith('/') ? base.href : `${base.href}/`);
      url.searchParams.set('token', token);
      process.stdout.write(`${url.href}\n`);
    }));

  auth
    .command('revoke')
    .description('revoke a token on every node: a revocation signed by the admin key, sent to one node, spread by gossip')
    .argument('<token>', 'the token to revoke')
    .addOption(adminKeyOption())
    .addOption(new Option('--node <url>', 'the node to send it to').env('NODE_URL').default(DEFAULT_NODE_URL))
    .action(async (token: string, flags: KeyFlags & { node: string }) => run(async () => {
      const base = nodeBase(flags.node);
      const { mintRevocation, readAdminKey } = await import('./tokens.js');
      const { revocation, claims } = await mintRevocation(await readAdminKey(keyFile(flags)), token);
      const target = new URL('auth/revocations', base.href.endsWith('/') ? base.href : `${base.href}/`).href;
      let res: Response;
      try {
        res = await fetch(target, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ revocation }), signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { message?: string } }).cause?.message;
        throw new Error(`POST ${target}: cannot reach the node${cause === undefined ? '' : `: ${cause}`}`);
      }
      const text = (await res.text()).slice(0, 2000);
      if (res.status !== 200 && res.status !== 202) {
        let detail = text.slice(0, 200);
        try {
          const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
          if (body.error?.code !== undefined) detail = `${body.error.code} ${body.error.message ?? ''}`.trim();
        } catch { /* not JSON */ }
        throw new Error(`POST ${target}: ${res.status} ${detail}`);
      }
      process.stdout.write(`revoked token ${claims.revokes} (until ${new Date(claims.exp * 1000).toISOString()}); it spreads to every node by gossip\n`);
    }));
}
