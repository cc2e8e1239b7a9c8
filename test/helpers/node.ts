/**
 * A real single node for integration tests: `node dist/cli.js node` on a free
 * loopback port with its own data dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, waitHealthy, type CliProcess } from './process.js';
import { freePort } from './net.js';

export interface TestNode {
  url: string;
  port: number;
  host: string;
  dataDir: string;
  proc: CliProcess;
}

export async function tempDir(prefix = 'gcdn-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Starts a node; reuse `dataDir` to restart one over the same data. Alone on
 * purpose (`--alone`) unless `cluster` is set: single-node tests need no Point.
 */
export async function startNode(options: { dataDir?: string; host?: string; port?: number; args?: string[]; env?: NodeJS.ProcessEnv; alone?: boolean } = {}): Promise<TestNode> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? await freePort(host);
  const dataDir = options.dataDir ?? await tempDir();
  const alone = options.alone ?? true ? ['--alone'] : [];
  const proc = startCli(['node', '--host', host, '--port', String(port), '--data-dir', dataDir, '--bootstrap', 'http://127.0.0.1:9', ...alone, ...(options.args ?? [])], { env: options.env });
  const url = `http://${host}:${port}`;
  await waitHealthy(proc, `${url}/healthz`);
  return { url, port, host, dataDir, proc };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
