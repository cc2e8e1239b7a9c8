/**
 * `gossip-cdn demo`: a whole cluster on this machine with no services at
 * all: an embedded Point (in-process registry, PGlite banlist) and N nodes,
 * each its own process of this same CLI. Says what it is doing while they
 * start, then prints the URLs and copy-paste examples that run as printed.
 * A process that dies unexpectedly is reported and restarted over its data
 * dir (src/demo/supervisor.ts); Ctrl-C (or SIGTERM) stops every process it
 * started, gracefully, and waits for them.
 */
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { fail, PARENT_PID_ENV } from '../cli-support.js';
import { cliInvocation } from './invocation.js';
import { DEMO_RESTART_POLICY, Supervisor, type DemoProcess } from './supervisor.js';
import { ADMIN_KEY_FILE, initAdminKey, mintToken, publicKeyText, readAdminKey } from '../auth/tokens.js';

/** The token the demo prints: admin scope (writes, deletes, reads), for a day. */
const DEMO_TOKEN_TTL_SECONDS = 86_400;

/** The demo's admin key: made in its data dir on the first start, reused after. Returns the public key text and a fresh token. */
async function demoCredentials(dataDir: string): Promise<{ keyFile: string; publicKey: string; token: string }> {
  await mkdir(dataDir, { recursive: true });
  const keyFile = join(dataDir, ADMIN_KEY_FILE);
  if (!existsSync(keyFile)) await initAdminKey(dataDir);
  const key = await readAdminKey(keyFile);
  const { token } = await mintToken(key, { scope: 'admin', ttlSeconds: DEMO_TOKEN_TTL_SECONDS });
  return { keyFile, publicKey: publicKeyText(key), token };
}

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/** How long a process may take to first serve (the Point's first start creates its PGlite database). */
const START_TIMEOUT_MS = 120_000;
/** A step that takes longer than this gets a "still waiting" line, and again after each further period. */
const PATIENCE_MS = 10_000;

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

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run an embedded Point and N nodes on this machine (no Redis or Postgres needed)')
    .addOption(new Option('--nodes <n>', 'how many nodes (1-20, default 3)').env('DEMO_NODES'))
    .addOption(new Option('--base-port <port>', 'first node port; the others follow (default 7000)').env('PORT'))
    .addOption(new Option('--data-dir <dir>', 'where the demo keeps its data (default ./gossip-cdn-demo)').env('DATA_DIR'))
    .action(async (flags: DemoFlags) => runDemo(flags));
}

async function runDemo(flags: DemoFlags): Promise<void> {
  const nodes = Number(flags.nodes ?? 3);
  const basePort = Number(flags.basePort ?? 7000);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 20) fail(new Error('--nodes (DEMO_NODES): must be a whole number from 1 to 20'));
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + nodes - 1 > 65535) fail(new Error('--base-port (PORT): must be a port number, with room for every node after it'));
  const dataDir = resolve(flags.dataDir ?? 'gossip-cdn-demo');
  const host = '127.0.0.1';
  for (let i = 0; i < nodes; i++) {
    if (!(await portFree(basePort + i, host))) fail(new Error(`port ${basePort + i} is taken; pick another range with --base-port`));
  }

  const t0 = performance.now();
  const stamp = (): string => `[${((performance.now() - t0) / 1000).toFixed(1)}s]`;
  const say = (line: string): void => { process.stdout.write(`${stamp()} ${line}\n`); };
  const warn = (line: string): void => { process.stderr.write(`${stamp()} ${line}\n`); };

  // The demo's own PORT / DATA_DIR twins must not leak into its children, nor settings that would
  // make them something other than this demo: a Point on external Redis/PostgreSQL, nodes that all
  // advertise one address, TLS files (the demo speaks plain HTTP on loopback and checks its
  // children so), reads that need tokens its printed examples do not send.
  const {
    PORT: _port, DATA_DIR: _dataDir, REDIS_URL: _redis, DATABASE_URL: _database, ADVERTISE: _advertise,
    TLS_CERT: _tlsCert, TLS_KEY: _tlsKey, TLS_CA: _tlsCa, PRIVATE_READS: _privateReads, ...env
  } = process.env;
  const supervisor = new Supervisor({
    cli: CLI,
    env: { ...env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', [PARENT_PID_ENV]: String(process.pid) },
    policy: DEMO_RESTART_POLICY,
    warn,
    onNothingLeft: () => { void stop(1); },
  });

  let stopping: Promise<never> | undefined;
  let forced = false;
  const stop = (code: number): Promise<never> => {
    stopping ??= (async () => {
      process.stdout.write('\nstopping the demo cluster...\n');
      await supervisor.stopAll();
      process.stdout.write('all demo processes stopped\n');
      process.exit(forced ? 130 : code);
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping === undefined) {
      void stop(0);
      return;
    }
    // A second Ctrl-C: no more waiting for graceful stops, but still no child left behind
    // (the stop under way sees them exit, then exits 130).
    if (forced) return;
    forced = true;
    process.stderr.write(`${signal} again: killing every demo process\n`);
    void supervisor.killAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failStart: (err: Error) => void = () => undefined;
  const startFailed = new Promise<never>((_, reject) => { failStart = reject; });
  startFailed.catch(() => undefined);
  supervisor.onStartFailure((p, why) => failStart(new Error(`${p.spec.name} exited during start-up (${why})`)));

  /** Waits for `step`, saying so every PATIENCE_MS, failing after START_TIMEOUT_MS or when any process fails to start. */
  const patiently = async <T>(what: string, step: Promise<T>): Promise<T> => {
    const started = performance.now();
    const ticker = setInterval(() => say(`still waiting for ${what} (${Math.round((performance.now() - started) / 1000)} s)...`), PATIENCE_MS);
    try {
      return await Promise.race([
        step,
        startFailed,
        delay(START_TIMEOUT_MS, undefined, { ref: false }).then(() => { throw new Error(`${what} took more than ${START_TIMEOUT_MS / 1000} s`); }),
      ]);
    } finally {
      clearInterval(ticker);
    }
  };

  /**
   * Polls a node's /readyz until it answers 200 (registered with the Point, or in touch with a
   * live peer), across restarts: a node that dies after it served is the supervisor's to restart.
   */
  const joined = async (p: DemoProcess, url: string): Promise<void> => {
    while (p.state === 'starting' || p.state === 'running' || p.state === 'waiting to restart') {
      const ok = p.child !== undefined && await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ok) return;
      await delay(100);
    }
    throw new Error(`${p.spec.name} stopped before it joined`);
  };

  try {
    process.stdout.write(`gossip-cdn demo: a Point and ${nodes} node${nodes === 1 ? '' : 's'} on ${host}, data in ${dataDir}\n`);
    const auth = await demoCredentials(dataDir);
    const pointPort = await anyPort(host);
    const pointDir = join(dataDir, 'point');
    const firstStart = !existsSync(pointDir);
    say(`starting the Point (embedded registry, PGlite banlist${firstStart ? ', created on this first start' : ''})...`);
    const point = supervisor.start({
      name: 'the Point',
      args: ['bootstrap', '--host', host, '--port', String(pointPort), '--data-dir', pointDir],
      // "Point listening on URL (registry: ...; banlist: ...)"
      listening: /^Point listening on (.*)$/,
    });
    const pointSays = await patiently('the Point', point.whenListening());
    const pointUrl = `http://${host}:${pointPort}`;
    const backends = /\((.*)\)$/.exec(pointSays)?.[1];
    say(`the Point is listening at ${pointUrl} (pid ${point.pid ?? '?'}${backends === undefined ? '' : `; ${backends}`})`);

    say(nodes === 1 ? `starting node 1 on port ${basePort}...` : `starting nodes 1-${nodes} on ports ${basePort}-${basePort + nodes - 1}...`);
    const urls = Array.from({ length: nodes }, (_, i) => `http://${host}:${basePort + i}`);
    const started = urls.map((url, i) => supervisor.start({
      name: `node ${i + 1}`,
      args: ['node', '--host', host, '--port', String(basePort + i), '--data-dir', join(dataDir, `node-${i + 1}`), '--bootstrap', pointUrl, '--auth-public-key', auth.publicKey],
      listening: /^gossip-cdn node \S+ listening on (\S+)/,
      readyUrl: `${url}/readyz`,
    }));
    await patiently(nodes === 1 ? 'node 1' : 'the nodes', Promise.all(started.map(async (p, i) => {
      const url = urls[i] as string;
      await p.whenListening();
      say(`${p.spec.name} listening at ${url} (pid ${p.pid ?? '?'})`);
      await joined(p, url);
      say(`${p.spec.name} joined the cluster`);
    })));

    const first = urls[0] as string;
    const last = urls[urls.length - 1] as string;
    const cli = cliInvocation({ cli: CLI, execPath: process.execPath, cwd: process.cwd(), path: process.env.PATH });
    say('ready');
    process.stdout.write([
      '',
      `gossip-cdn demo: ${nodes} node${nodes === 1 ? '' : 's'} and a Point are running (data in ${dataDir})`,
      `  Point   ${pointUrl}`,
      ...urls.map((u, i) => `  node ${i + 1}  ${u}   status page: ${u}/`),
      '',
      `Writes need a client token. This one (scope admin, valid for a day) is signed by the demo's admin key ${auth.keyFile};`,
      `make more with: ${cli} auth token --admin-key ${auth.keyFile} --scope write`,
      `  TOKEN=${auth.token}`,
      'Try it (with curl):',
      `  ID=$(node -e 'console.log(crypto.randomUUID())')`,
      `  curl -X PUT -H "Authorization: Bearer $TOKEN" --data-binary 'hello, gossip' ${first}/blobs/$ID`,
      `  curl ${last}/blobs/$ID`,
      `  curl ${last}/cluster`,
      'or with the client commands:',
      `  ID=$(echo 'hello, gossip' | ${cli} put - --node ${first} --token $TOKEN)`,
      `  ${cli} get $ID --node ${last}`,
      `  ${cli} status --node ${last}`,
      '',
      `A process that dies (try kill -9 on a node's pid) is restarted over its data dir; ${DEMO_RESTART_POLICY.maxCrashes} deaths`,
      `within ${DEMO_RESTART_POLICY.windowMs / 1000} s and the demo gives up on it, the others keep running.`,
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'));
  } catch (err) {
    if (stopping !== undefined) return; // a signal came during start-up: the stop is under way
    process.stderr.write(`gossip-cdn demo: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
  }
}
