/**
 * docker-compose.yml and the Dockerfile, the quick check without a Docker
 * engine (`npm run test:docker`, scripts/docker-test.mjs, runs them in a real
 * one): the compose file's structure (services, volumes, health
 * checks, depends_on conditions, no fixed host port on the scalable `node`
 * service, every variable documented), and then the exact commands and
 * environment of the `point` and `node` services run as plain processes, with
 * only addresses substituted (container names -> 127.0.0.x and free ports,
 * the per-replica volume -> a temp dir), forming a cluster that replicates.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { requireTools } from '../helpers/prereqs.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { CLI as cli, startCli, stopAll, waitHealthy, type CliProcess } from '../helpers/process.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { removeDir, tempDir } from '../helpers/node.js';
import { expectTokenWriteReplicates, nextHost } from '../helpers/cluster.js';
import { pointBackends } from '../helpers/services.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);

interface Healthcheck { test: string[]; interval?: string; retries?: number }
interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Healthcheck;
}
interface ComposeFile { services: Record<string, ComposeService>; volumes?: Record<string, unknown> }

const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8')) as ComposeFile;
const readme = readFileSync(new URL('README.md', root), 'utf8');
const dockerSection = readme.slice(readme.indexOf('<!-- docker:start -->'), readme.indexOf('<!-- docker:end -->'));

function service(name: string): ComposeService {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** `args` with the value after `flag` replaced. */
function withFlag(args: string[], flag: string, value: string): string[] {
  const i = args.indexOf(flag);
  expect(i, `${flag} in ${args.join(' ')}`).toBeGreaterThanOrEqual(0);
  return args.map((a, j) => (j === i + 1 ? value : a));
}

/** What compose's interpolation makes of `${NAME:?message}` (a required variable): its value from .env, here `vars`. */
function interpolated(env: Record<string, string> | undefined, vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, v.replace(/\$\{(\w+):\?[^}]*\}/g, (_m, name: string) => vars[name] ?? '')]));
}

/** The cluster's admin key, made as the README's Docker section says (the .env's AUTH_PUBLIC_KEY is its public key). */
async function adminKey(cleanups: (() => Promise<void>)[]): Promise<{ publicKey: string; keyFile: string }> {
  const dir = await tempDir('gcdn-compose-admin-');
  cleanups.push(() => removeDir(dir));
  const made = await run(process.execPath, [cli, 'auth', 'init', '--dir', dir], { timeout: 30_000 });
  return { publicKey: made.stdout.trim(), keyFile: join(dir, 'admin-key.pem') };
}


describe('docker-compose.yml', () => {
  it('has redis, postgres, two Points and node, with volumes and health checks', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['node', 'point', 'point2', 'postgres', 'redis']);
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.healthcheck?.test.join(' ')).toContain('redis-cli ping');
    expect(redis.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    const postgres = service('postgres');
    expect(postgres.image).toMatch(/^postgres:15/);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(postgres.volumes?.some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    expect(Object.keys(postgres.environment ?? {})).toEqual(expect.arrayContaining(['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB']));
    for (const named of [...(redis.volumes ?? []), ...(postgres.volumes ?? [])].map((v) => v.split(':')[0] as string)) {
      expect(Object.keys(compose.volumes ?? {})).toContain(named);
    }
  });

  it('starts the Points after healthy Redis and Postgres, and nodes after healthy Points', () => {
    for (const [name, hostPort, other] of [['point', 8080, 'point2'], ['point2', 8081, 'point']] as const) {
      const point = service(name);
      expect(point.build).toBe('.');
      expect(point.command).toEqual(['bootstrap', '--host', '0.0.0.0', '--port', '8080']);
      expect(point.depends_on).toEqual({ redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
      expect(point.healthcheck?.test.join(' ')).toContain('/healthz');
      expect(point.ports).toEqual([`${hostPort}:8080`]);
      // one registry and one banlist for both; each answers /points with the other
      expect(point.environment?.REDIS_URL).toBe(service('point').environment?.REDIS_URL);
      expect(point.environment?.DATABASE_URL).toBe(service('point').environment?.DATABASE_URL);
      expect(point.environment?.POINT_PEERS).toBe(`http://${other}:8080`);
    }
    const node = service('node');
    expect(node.build).toBe('.');
    expect(node.command).toEqual(['node', '--host', '0.0.0.0', '--port', '7000']);
    expect(node.depends_on).toEqual({ point: { condition: 'service_healthy' }, point2: { condition: 'service_healthy' } });
    expect(node.healthcheck?.test.join(' ')).toContain('/healthz');
  });

  it('lets `node` scale: no fixed host port, a per-replica anonymous data volume, the Point by service name', () => {
    const node = service('node');
    expect(node.ports).toEqual(['7000']);
    for (const p of node.ports ?? []) expect(p).not.toContain(':');
    expect(node.environment?.BOOTSTRAP_URL).toBe('http://point:8080,http://point2:8080');
    const dataDir = node.environment?.DATA_DIR as string;
    expect(node.volumes).toEqual([dataDir]); // anonymous: no "name:" before the path, so one per replica
    expect(node.environment).not.toHaveProperty('ADVERTISE'); // each replica advertises its own container address
  });

  it('documents every environment variable it sets, in the README and in the file', () => {
    const text = readFileSync(new URL('docker-compose.yml', root), 'utf8');
    for (const name of ['point', 'point2', 'node']) {
      for (const key of Object.keys(service(name).environment ?? {})) {
        expect(dockerSection, `README docker section names ${key}`).toContain(key);
        expect(text.split('services:')[0], `compose header names ${key}`).toContain(key);
      }
    }
    // what the real Docker run proves, and what it does not (the official base images)
    expect(dockerSection).toContain('npm run test:docker');
    expect(dockerSection).toMatch(/does \*\*not\*\* prove: the official base images/);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on node:24-slim, production deps only, non-root, with the CLI as entrypoint', () => {
    const text = readFileSync(new URL('Dockerfile', root), 'utf8');
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms).toEqual(['node:24-slim', 'node:24-slim']);
    expect(text).toMatch(/RUN npm ci[^\n]*\n(?:.*\n)*RUN npm run build/);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/COPY --from=build \/app\/dist/);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toContain('ENTRYPOINT ["node", "dist/cli.js"]');
    const ignore = readFileSync(new URL('.dockerignore', root), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });
});

describe('the compose services as plain processes', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await stopAll();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  async function healthcheck(s: ComposeService, from: string, to: string): Promise<void> {
    const test = s.healthcheck?.test ?? [];
    expect(test[0]).toBe('CMD');
    expect(test[1]).toBe('node');
    const args = test.slice(2).map((a) => a.replace(from, to));
    await run(process.execPath, args, { timeout: 10_000 }); // rejects on a non-zero exit
  }

  it('two Points and two nodes started exactly as compose starts them form a cluster, which outlives the first Point', { timeout: 180_000 }, async () => {
    const { redis, db, prefix } = await pointBackends(cleanups);

    // Each compose service name in a URL (http://point:8080, http://point2:8080) becomes that Point's loopback address.
    const ports = { point: await freePort(), point2: await freePort() };
    const substituted = (urls: string) => urls.replace(/\/\/(point2?):8080/g, (_m, name: 'point' | 'point2') => `//127.0.0.1:${ports[name]}`);
    const points: Record<'point' | 'point2', CliProcess> = {} as Record<'point' | 'point2', CliProcess>;
    for (const name of ['point', 'point2'] as const) {
      const svc = service(name);
      const args = withFlag(withFlag(svc.command ?? [], '--host', '127.0.0.1'), '--port', String(ports[name]));
      // Addresses substituted; POINT_REDIS_PREFIX only keeps this test's keys apart from others' on a shared Redis.
      const env = { ...svc.environment, POINT_PEERS: substituted(svc.environment?.POINT_PEERS ?? ''), REDIS_URL: redis.url, DATABASE_URL: db.url, POINT_REDIS_PREFIX: prefix };
      const proc = startCli(args, { env });
      await waitHealthy(proc, `http://127.0.0.1:${ports[name]}/healthz`, 60_000);
      expect(proc.output()).not.toMatch(/embedded/i);
      await healthcheck(svc, '127.0.0.1:8080', `127.0.0.1:${ports[name]}`);
      points[name] = proc;
    }

    // The node's AUTH_PUBLIC_KEY is `${AUTH_PUBLIC_KEY:?...}`, which compose fills from .env.
    const admin = await adminKey(cleanups);
    const token = (await run(process.execPath, [cli, 'auth', 'token', '--admin-key', admin.keyFile, '--scope', 'write', '--ttl', '1h'], { timeout: 30_000 })).stdout.trim();
    const nodeSvc = service('node');
    expect(nodeSvc.environment?.AUTH_PUBLIC_KEY).toMatch(/^\$\{AUTH_PUBLIC_KEY:\?.+\}$/);
    const nodes: { url: string; proc: CliProcess }[] = [];
    for (let i = 0; i < 2; i++) {
      const host = nextHost();
      const port = await freePort(host);
      const dataDir = await tempDir('gcdn-compose-');
      cleanups.push(() => removeDir(dataDir));
      const args = withFlag(withFlag(nodeSvc.command ?? [], '--host', host), '--port', String(port));
      const env = { ...interpolated(nodeSvc.environment, { AUTH_PUBLIC_KEY: admin.publicKey }), BOOTSTRAP_URL: substituted(nodeSvc.environment?.BOOTSTRAP_URL ?? ''), DATA_DIR: dataDir };
      const proc = startCli(args, { env });
      const url = `http://${host}:${port}`;
      await waitHealthy(proc, `${url}/readyz`, 60_000);
      await healthcheck(nodeSvc, '127.0.0.1:7000', `${host}:${port}`);
      nodes.push({ url, proc });
    }
    const a = nodes[0] as { url: string };
    const b = nodes[1] as { url: string };
    await waitFor(async () => {
      const view = await (await fetch(`${a.url}/cluster`)).json() as { peers: { address: string; state: string }[] };
      return view.peers.some((p) => `http://${p.address}` === b.url && p.state === 'alive');
    }, { what: 'node a to see node b alive', timeoutMs: 60_000, intervalMs: 200 });

    // authenticated: an anonymous write is refused, one with a token the admin key signed is taken and replicates
    await expectTokenWriteReplicates(a.url, b.url, token, 'hello, compose');

    // The first Point dies: the nodes move to the second (its URL is in their BOOTSTRAP_URL) without restarting.
    await points.point.kill9();
    const second = `http://127.0.0.1:${ports.point2}`;
    for (const n of nodes) {
      await waitFor(async () => {
        const view = await (await fetch(`${n.url}/cluster`)).json() as { point: { url: string; state: string } };
        return view.point.url.replace(/\/$/, '') === second && view.point.state === 'registered';
      }, { what: `${n.url} to register with the second Point`, timeoutMs: 90_000, intervalMs: 250 });
      expect(n.proc.hasExited()).toBe(false);
    }
  });
});

describe('docker-compose.tls.yml (the TLS variant)', () => {
  const tls = parse(readFileSync(new URL('docker-compose.tls.yml', root), 'utf8')) as ComposeFile & { networks?: { default?: { ipam?: { config?: { subnet?: string }[] } } } };
  const tlsText = readFileSync(new URL('docker-compose.tls.yml', root), 'utf8');
  const tlsSection = readme.slice(readme.indexOf('<!-- tls:start -->'), readme.indexOf('<!-- tls:end -->'));
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await stopAll();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  function over(name: string): ComposeService {
    const s = tls.services[name];
    if (s === undefined) throw new Error(`docker-compose.tls.yml has no service ${name}`);
    return s;
  }

  it('overrides only the Point and the nodes: TLS files from ./certs, https to the Point, https health checks, a fixed subnet', () => {
    expect(Object.keys(tls.services).sort()).toEqual(['node', 'point', 'point2']);
    for (const [name, cert] of [['point', 'point'], ['point2', 'point'], ['node', 'node']] as const) {
      const s = over(name);
      expect(s.environment).toMatchObject({ TLS_CERT: `/certs/${cert}.pem`, TLS_KEY: `/certs/${cert}.key`, TLS_CA: '/certs/ca.pem', NODE_EXTRA_CA_CERTS: '/certs/ca.pem' });
      expect(s.volumes).toEqual(['./certs:/certs:ro']);
      expect(s.healthcheck?.test.join(' ')).toContain(`https://127.0.0.1:${name === 'node' ? 7000 : 8080}/healthz`);
      expect(s.command, 'the base command stays').toBeUndefined();
    }
    expect(over('node').environment?.BOOTSTRAP_URL).toBe('https://point:8080,https://point2:8080');
    expect(over('point').environment?.POINT_PEERS).toBe('https://point2:8080');
    expect(over('point2').environment?.POINT_PEERS).toBe('https://point:8080');
    expect(tls.networks?.default?.ipam?.config?.[0]?.subnet).toBe('172.28.0.0/24');
    for (const name of ['point', 'point2', 'node']) {
      for (const key of Object.keys(over(name).environment ?? {})) {
        expect(tlsSection, `README TLS section names ${key}`).toContain(key);
        expect(tlsText.split('services:')[0], `TLS override header names ${key}`).toContain(key);
      }
    }
    expect(tlsSection).toContain('docker compose -f docker-compose.yml -f docker-compose.tls.yml');
    expect(readFileSync(new URL('.dockerignore', root), 'utf8').split('\n')).toContain('certs');
  });

  it('the certificates scripts/make-certs.sh makes by default name what the override dials, signed by its CA', async () => {
    requireTools(['openssl']);
    const dir = await tempDir('gcdn-compose-certs-');
    cleanups.push(() => removeDir(dir));
    await run('sh', [fileURLToPath(new URL('scripts/make-certs.sh', root)), dir], { timeout: 60_000 });
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    const point = new X509Certificate(readFileSync(join(dir, 'point.pem')));
    const node = new X509Certificate(readFileSync(join(dir, 'node.pem')));
    expect(point.verify(ca.publicKey) && node.verify(ca.publicKey)).toBe(true);
    expect(point.checkHost('point')).toBe('point');
    expect(point.checkHost('point2'), 'the second Point of the compose file shares the certificate').toBe('point2');
    expect(point.checkIP('127.0.0.1')).toBe('127.0.0.1');
    for (let i = 2; i <= 254; i++) expect(node.checkIP(`172.28.0.${i}`), `node.pem names 172.28.0.${i}`).toBe(`172.28.0.${i}`);
    expect(node.checkIP('172.28.1.2')).toBeUndefined();
    expect(node.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect((statSync(join(dir, 'node.key')).mode & 0o077)).toBe(0);
  }, 90_000);

  it('the Point and a node started as the TLS variant starts them serve HTTPS and pass their health checks', { timeout: 120_000 }, async () => {
    requireTools(['openssl']);
    const certs = await tempDir('gcdn-compose-tls-');
    cleanups.push(() => removeDir(certs));
    await run('sh', [fileURLToPath(new URL('scripts/make-certs.sh', root)), certs], { timeout: 60_000 });
    const files = (env: Record<string, string> | undefined): Record<string, string> =>
      Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, v.replace(/^\/certs\//, `${certs}/`)]));
    const { redis, db, prefix } = await pointBackends(cleanups);

    const pointPort = await freePort();
    const pointEnv = { ...service('point').environment, ...files(over('point').environment), REDIS_URL: redis.url, DATABASE_URL: db.url, POINT_REDIS_PREFIX: prefix };
    const pointArgs = withFlag(withFlag(service('point').command ?? [], '--host', '127.0.0.1'), '--port', String(pointPort));
    const point = startCli(pointArgs, { env: pointEnv });
    const check = async (s: ComposeService, env: Record<string, string>, from: string, to: string): Promise<void> => {
      const args = (s.healthcheck?.test ?? []).slice(2).map((a) => a.replace(from, to));
      await run(process.execPath, args, { timeout: 10_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: env.NODE_EXTRA_CA_CERTS } });
    };
    await waitFor(async () => {
      if (point.hasExited()) throw new Error(`the Point exited:\n${point.output()}`);
      return check(over('point'), pointEnv, '127.0.0.1:8080', `127.0.0.1:${pointPort}`).then(() => true, () => false);
    }, { what: 'the TLS Point to pass its health check', timeoutMs: 60_000, intervalMs: 250 });
    expect(point.output()).toContain(`https://127.0.0.1:${pointPort}`);

    // the shared node certificate names 127.0.0.1 (and the compose subnet), so the node runs there
    const port = await freePort('127.0.0.1');
    const dataDir = await tempDir('gcdn-compose-tls-node-');
    cleanups.push(() => removeDir(dataDir));
    const admin = await adminKey(cleanups);
    const nodeEnv: Record<string, string> = { ...interpolated(service('node').environment, { AUTH_PUBLIC_KEY: admin.publicKey }), ...files(over('node').environment), DATA_DIR: dataDir };
    nodeEnv.BOOTSTRAP_URL = (nodeEnv.BOOTSTRAP_URL ?? '').replace('point:8080', `127.0.0.1:${pointPort}`);
    const node = startCli(withFlag(withFlag(service('node').command ?? [], '--host', '127.0.0.1'), '--port', String(port)), { env: nodeEnv });
    await waitFor(async () => {
      if (node.hasExited()) throw new Error(`the node exited:\n${node.output()}`);
      return check(over('node'), nodeEnv, '127.0.0.1:7000', `127.0.0.1:${port}`).then(() => true, () => false);
    }, { what: 'the TLS node to pass its health check', timeoutMs: 60_000, intervalMs: 250 });
    const agent = new Agent({ connect: { ca: readFileSync(join(certs, 'ca.pem')) } });
    cleanups.push(() => agent.close());
    // registered with the Point over verified HTTPS: ready
    await waitFor(async () => {
      const res = await request(`https://127.0.0.1:${port}/readyz`, { dispatcher: agent });
      const text = await res.body.text();
      return res.statusCode === 200 && text.includes('Point registered');
    }, { what: 'the TLS node to register with the TLS Point', timeoutMs: 60_000, intervalMs: 250 });
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 'refused');
    expect(plain).toBe('refused');
  });
});
