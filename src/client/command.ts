/**
 * The client commands, `put`, `get`, `rm` and `status`, talking to one node
 * (`--node`, env NODE_URL, default http://127.0.0.1:7000). Failures print one
 * line and exit 1 (usage or other), 2 (not found) or 3 (node unreachable).
 * Each action imports its transfer code (and undici) only when it runs.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_NODE_URL, DEFAULT_TIMEOUTS, type ClientTimeouts } from './defaults.js';
import { ClientError, exitWithError } from './errors.js';

interface NodeFlag { node: string; timeout?: string; tlsCa?: string; token?: string }

function nodeOption(): Option {
  return new Option('--node <url>', 'the node to talk to').env('NODE_URL').default(DEFAULT_NODE_URL);
}

function timeoutOption(): Option {
  return new Option('--timeout <seconds>', `wait at most this long for response headers and between body bytes (default ${DEFAULT_TIMEOUTS.stallMs / 1000})`).env('CLIENT_TIMEOUT');
}

function tlsCaOption(): Option {
  return new Option('--tls-ca <file>', 'PEM CA certificate(s) that verify an https:// node (default: the system CAs and NODE_EXTRA_CA_CERTS)').env('TLS_CA');
}

/** With --tls-ca, later calls trust that CA; the HTTP client that can (npm undici) loads only then. */
async function trustFrom(flags: NodeFlag): Promise<void> {
  if (flags.tlsCa === undefined || flags.tlsCa === '') return;
  const { trustCa } = await import('./http.js');
  await trustCa(flags.tlsCa);
}

function tokenOption(): Option {
  return new Option('--token <token>', 'a client token (gossip-cdn auth token), sent as Authorization: Bearer').env('CDN_TOKEN');
}

function timeoutsOf(flags: NodeFlag): ClientTimeouts {
  if (flags.timeout === undefined) return DEFAULT_TIMEOUTS;
  const seconds = Number(flags.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new ClientError('--timeout (CLIENT_TIMEOUT): must be a positive number of seconds');
  const ms = Math.round(seconds * 1000);
  return { connectMs: Math.min(DEFAULT_TIMEOUTS.connectMs, ms), headersMs: ms, stallMs: ms };
}

/** Runs a command body; any failure becomes one line and an exit code. */
async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    exitWithError(err);
  }
}

export function registerClientCommands(program: Command): void {
  program
    .command('put')
    .description('upload FILE (or - for stdin) as a blob; prints its GUID')
    .argument('<file>', 'the file to upload, or - for stdin')
    .addOption(nodeOption())
    .addOption(timeoutOption())
    .addOption(tlsCaOption())
    .addOption(tokenOption())
    .addOption(new Option('--id <guid>', 'the GUID to store it under (default: a new random UUID)'))
    .action(async (file: string, flags: NodeFlag & { id?: string }) => run(async () => {
      await trustFrom(flags);
      const { putBlob } = await import('./transfer.js');
      const stored = await putBlob(file, flags.id, { node: flags.node, timeouts: timeoutsOf(flags), token: flags.token });
      process.stdout.write(`${stored.id}\n`);
    }));

  program
    .command('get')
    .description('download a blob to a file (-o) or stdout, checking it against its ETag')
    .argument('<guid>', 'the blob to download')
    .addOption(new Option('-o, --output <file>', 'write to this file (atomically) instead of stdout'))
    .addOption(nodeOption())
    .addOption(timeoutOption())
    .addOption(tlsCaOption())
    .addOption(tokenOption())
    .action(async (guid: string, flags: NodeFlag & { output?: string }) => run(async () => {
      await trustFrom(flags);
      const { getBlob } = await import('./transfer.js');
      await getBlob(guid, flags.output, { node: flags.node, timeouts: timeoutsOf(flags), token: flags.token });
    }));

  program
    .command('rm')
    .description('delete a blob (a tombstone that replicates)')
    .argument('<guid>', 'the blob to delete')
    .addOption(nodeOption())
    .addOption(timeoutOption())
    .addOption(tlsCaOption())
    .addOption(tokenOption())
    .action(async (guid: string, flags: NodeFlag) => run(async () => {
      await trustFrom(flags);
      const { removeBlob } = await import('./transfer.js');
      await removeBlob(guid, { node: flags.node, timeouts: timeoutsOf(flags), token: flags.token });
    }));

  program
    .command('status')
    .description('the cluster as a node sees it: its id, peers and their states, blob and byte counts')
    .addOption(nodeOption())
    .addOption(timeoutOption())
    .addOption(tlsCaOption())
    .addOption(new Option('--json', 'print the raw GET /cluster document'))
    .action(async (flags: NodeFlag & { json?: boolean }) => run(async () => {
      await trustFrom(flags);
      const { fetchCluster, renderCluster } = await import('./status.js');
      const view = await fetchCluster(flags.node, timeoutsOf(flags));
      process.stdout.write(flags.json === true ? `${JSON.stringify(view, null, 2)}\n` : renderCluster(view));
    }));
}
