/**
 * `gossip-cdn demo`: a whole cluster on this machine with no services at
 * all: an embedded Point (in-process registry, PGlite banlist) and N nodes,
 * each its own process of this same CLI. Prints the URLs and a copy-paste
 * example; Ctrl-C (or SIGTERM) stops every process it started, gracefully,
 * and waits for them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { fail, PARENT_PID_ENV } from '../cli-support.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

interface DemoFlags {
  nodes?: string;
  basePort?: string;
  dataDir?: string;
}

async function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, host, () => s.close(() => done(true)));
  });
}

async function anyPort(host: string): Promise<number> {
  return new Promise((done, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => (a !== null && typeof a === 'object' ? done(a.port) : reject(new Error('no port'))));
    });
  });
}

async function healthy(url: string, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${what} exited during start-up (code ${child.exitCode})`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await delay(100);
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs / 1000} s`);
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run an embedded Point and N nodes on this machine (no Redis or Postgres needed)')
    .addOption(new Option('--nodes <n>', 'how many nodes (1-20, default 3)').env('DEMO_NODES'))
    .addOption(new Option('--base-port <port>', 'first node port; the others follow (default 7000)').env('PORT'))
    .addOption(new Option('--data-dir <dir>', 'where the demo keeps its data (default ./gossip-cdn-demo)').env('DATA_DIR'))
    .action(async (flags: DemoFlags) => {
      const nodes = Number(flags.nodes ?? 3);
      const basePort = Number(flags.basePort ?? 7000);
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 20) fail(new Error('--nodes (DEMO_NODES): must be a whole number from 1 to 20'));
      if (!Number.isInteger(basePort) || basePort < 1 || basePort + nodes - 1 > 65535) fail(new Error('--base-port (PORT): must be a port number, with room for every node after it'));
      const dataDir = resolve(flags.dataDir ?? 'gossip-cdn-demo');
      const host = '127.0.0.1';
      for (let i = 0; i < nodes; i++) {
        if (!(await portFree(basePort + i, host))) fail(new Error(`port ${basePort + i} is taken; pick another range with --base-port`));
      }

      const children: { name: string; child: ChildProcess }[] = [];
      let stopping = false;
      const stopAll = async (code: number): Promise<never> => {
        if (!stopping) {
          stopping = true;
          process.stdout.write('\nstopping the demo cluster...\n');
          const exits = children.map(({ child }) => (child.exitCode !== null || child.signalCode !== null
            ? Promise.resolve()
            : new Promise<void>((done) => child.once('exit', () => done()))));
          for (const { child } of children) child.kill('SIGTERM');
          const timer = setTimeout(() => { for (const { child } of children) child.kill('SIGKILL'); }, 15_000);
          await Promise.all(exits);
          clearTimeout(timer);
          process.stdout.write('all demo processes stopped\n');
        }
        process.exit(code);
      };
      const start = (name: string, args: string[]): ChildProcess => {
        // The demo's own PORT / DATA_DIR twins must not leak into its children.
        const { PORT: _port, DATA_DIR: _dataDir, ...env } = process.env;
        // Own process group: a terminal's Ctrl-C reaches only the demo, which then stops each
        // child once, gracefully. Each child also exits if the demo itself disappears.
        const child = spawn(process.execPath, [CLI, ...args], {
          stdio: ['ignore', 'ignore', 'inherit'],
          detached: true,
          env: { ...env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', [PARENT_PID_ENV]: String(process.pid) },
        });
        children.push({ name, child });
        child.once('exit', (code, signal) => {
          if (!stopping) {
            process.stderr.write(`gossip-cdn demo: ${name} stopped unexpectedly (${code ?? signal}); stopping the rest\n`);
            void stopAll(1);
          }
        });
        return child;
      };
      process.on('SIGINT', () => { void stopAll(0); });
      process.on('SIGTERM', () => { void stopAll(0); });

      try {
        const pointPort = await anyPort(host);
        const pointUrl = `http://${host}:${pointPort}`;
        const point = start('the Point', ['bootstrap', '--host', host, '--port', String(pointPort), '--data-dir', join(dataDir, 'point')]);
        await healthy(`${pointUrl}/healthz`, point, 'the Point');
        const urls: string[] = [];
        for (let i = 0; i < nodes; i++) {
          const port = basePort + i;
          const url = `http://${host}:${port}`;
          const child = start(`node ${i + 1}`, ['node', '--host', host, '--port', String(port), '--data-dir', join(dataDir, `node-${i + 1}`), '--bootstrap', pointUrl]);
          urls.push(url);
          await healthy(`${url}/healthz`, child, `node ${i + 1}`);
        }
        for (const [i, url] of urls.entries()) await healthy(`${url}/readyz`, children[i + 1]?.child as ChildProcess, `node ${i + 1} joining`);
        const first = urls[0] as string;
        const last = urls[urls.length - 1] as string;
        process.stdout.write([
          `gossip-cdn demo: ${nodes} node${nodes === 1 ? '' : 's'} and a Point are running (data in ${dataDir})`,
          `  Point   ${pointUrl}`,
          ...urls.map((u, i) => `  node ${i + 1}  ${u}   status page: ${u}/`),
          '',
          'Try it (with curl):',
          `  ID=$(node -e 'console.log(crypto.randomUUID())')`,
          `  curl -X PUT --data-binary 'hello, gossip' ${first}/blobs/$ID`,
          `  curl ${last}/blobs/$ID`,
          `  curl ${last}/cluster`,
          'or with the client commands:',
          `  ID=$(gossip-cdn put README.md --node ${first})`,
          `  gossip-cdn get $ID --node ${last}`,
          `  gossip-cdn status --node ${last}`,
          '',
          'Press Ctrl-C to stop everything.',
          '',
        ].join('\n'));
      } catch (err) {
        process.stderr.write(`gossip-cdn demo: ${err instanceof Error ? err.message : String(err)}\n`);
        await stopAll(1);
      }
    });
}
