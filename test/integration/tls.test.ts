/**
 * TLS on every plane (issue 13), with real TLS and real processes: throwaway
 * CAs and certificates made by scripts/make-certs.sh (openssl), nodes and a
 * Point started with --tls-cert/--tls-key/--tls-ca, curl and the CLI as
 * clients, raw sockets as the plain-HTTP and silent attackers, and a
 * 3-node cluster on real Redis and PostgreSQL that replicates over HTTPS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { runCli, startCli, stopAll, type CliProcess } from '../helpers/process.js';
import { freePort } from '../helpers/net.js';
import { removeDir, tempDir } from '../helpers/node.js';
import { nextHost } from '../helpers/cluster.js';
import { openSocket, rawRequest } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait.js';
import { requireTools } from '../helpers/prereqs.js';
import { dropCa, makeCa, startTlsCluster, tlsArgs, tlsClusterView, waitHealthyTls, type CertPaths, type TestCa, type TlsCluster } from '../helpers/tls.js';
import { joinTokenFor } from '../../src/bootstrap/caller.js';
import { loadTls } from '../../src/tls.js';

requireTools(['curl', 'openssl']);
const exec = promisify(execFile);

/** curl's exit code and output; never throws. */
async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('curl', ['-sS', '--max-time', '20', ...args], { timeout: 30_000, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let ca: TestCa;
let otherCa: TestCa;
let work: string;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([makeCa(), makeCa()]);
  work = await tempDir('gcdn-tls-work-');
}, 60_000);

afterAll(async () => {
  await stopAll();
  await dropCa(ca);
  await dropCa(otherCa);
  await removeDir(work);
});

interface AloneNode { host: string; port: number; url: string; proc: CliProcess; dataDir: string }

async function startAloneTls(cert: (host: string) => Promise<CertPaths>, extra: string[] = [], agent: Agent = ca.agent): Promise<AloneNode> {
  const host = nextHost();
  const port = await freePort(host);
  const dataDir = await tempDir('gcdn-tls-alone-');
  const paths = await cert(host);
  const proc = startCli(['node', '--alone', '--host', host, '--port', String(port), '--data-dir', dataDir, ...tlsArgs(paths, ca.ca), ...extra]);
  const url = `https://${host}:${port}`;
  await waitHealthyTls(proc, `${url}/healthz`, agent);
  return { host, port, url, proc, dataDir };
}

describe('a TLS node, and clients that do or do not trust it', () => {
  /** a node whose certificate names its own address */
  let node: AloneNode;
  /** a node whose certificate is for DNS:other.example only */
  let misnamed: AloneNode;
  const HEADERS_TIMEOUT_MS = 1000;

  beforeAll(async () => {
    node = await startAloneTls((host) => ca.issue(`alone-${host}`, `IP:${host}`), ['--headers-timeout', String(HEADERS_TIMEOUT_MS)]);
    // the wait for it to start checks the chain but not the name (which is the point of this node)
    const anyName = new Agent({ connect: { ca: ca.pem, checkServerIdentity: () => undefined } });
    misnamed = await startAloneTls(() => ca.issue('other', 'DNS:other.example'), [], anyName).finally(() => anyName.close());
  }, 120_000);

  afterAll(async () => {
    await node?.proc.stop(5000);
    await misnamed?.proc.stop(5000);
    if (node !== undefined) await removeDir(node.dataDir);
    if (misnamed !== undefined) await removeDir(misnamed.dataDir);
  });

  it('says https:// when it starts, and warns when its certificate does not name its address', () => {
    expect(node.proc.output()).toContain(`listening on ${node.url}`);
    expect(node.proc.output()).not.toMatch(/does not name the advertised host/);
    expect(misnamed.proc.output()).toMatch(/does not name the advertised host/);
  });

  it('curl with the CA PUTs and GETs; without it, with another CA, or against a certificate for another name, curl fails', async () => {
    const key = randomUUID();
    const file = join(work, `curl-${key}`);
    const bytes = randomBytes(4096);
    await writeFile(file, bytes);
    const put = await curl(['--cacert', ca.ca, '-X', 'PUT', '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream',
      '-o', '/dev/null', '-w', '%{http_code}', `${node.url}/blobs/${key}`]);
    expect(put, put.stderr).toMatchObject({ code: 0, stdout: '201' });
    const out = join(work, `curl-out-${key}`);
    const get = await curl(['--cacert', ca.ca, '-o', out, '-w', '%{http_code}', `${node.url}/blobs/${key}`]);
    expect(get, get.stderr).toMatchObject({ code: 0, stdout: '200' });
    expect(Buffer.compare(await readFile(out), bytes)).toBe(0);

    // curl's exit 60: the peer's certificate could not be verified (chain or name)
    const noCa = await curl(['-o', '/dev/null', `${node.url}/blobs/${key}`]);
    expect(noCa.code).toBe(60);
    expect(noCa.stderr).toMatch(/certificate/i);
    const wrongCa = await curl(['--cacert', otherCa.ca, '-o', '/dev/null', `${node.url}/blobs/${key}`]);
    expect(wrongCa.code).toBe(60);
    expect(wrongCa.stderr).toMatch(/certificate/i);
    const wrongName = await curl(['--cacert', ca.ca, '-o', '/dev/null', `${misnamed.url}/healthz`]);
    expect(wrongName.code).toBe(60);
    expect(wrongName.stderr).toMatch(/certificate|subject name|alternative/i);
  }, 60_000);

  it('the CLI with --tls-ca (or TLS_CA) puts and gets; without it, with another CA, or against another name it fails in one line', async () => {
    const file = join(work, `cli-${randomUUID()}`);
    const bytes = randomBytes(10_000);
    await writeFile(file, bytes);
    const put = await runCli(['put', file, '--node', node.url, '--tls-ca', ca.ca]);
    expect(put.code, put.stderr).toBe(0);
    const id = put.stdout.trim();
    const out = join(work, `cli-out-${id}`);
    const get = await runCli(['get', id, '-o', out, '--node', node.url], { env: { TLS_CA: ca.ca } });
    expect(get.code, get.stderr).toBe(0);
    expect(Buffer.compare(await readFile(out), bytes)).toBe(0);
    const status = await runCli(['status', '--json', '--node', node.url, '--tls-ca', ca.ca]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toHaveProperty('id');

    for (const [args, reason] of [
      [['get', id, '-o', join(work, 'never-1'), '--node', node.url], /did not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/],
      [['get', id, '-o', join(work, 'never-2'), '--node', node.url, '--tls-ca', otherCa.ca], /did not verify \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/],
      [['put', file, '--node', misnamed.url, '--tls-ca', ca.ca], /did not verify \(ERR_TLS_CERT_ALTNAME_INVALID/],
    ] as const) {
      const r = await runCli([...args], { env: { TLS_CA: '' } });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(reason);
      expect(r.stderr).toContain('--tls-ca');
    }
    const bad = await runCli(['get', id, '--node', node.url, '--tls-ca', join(work, 'no-such-ca.pem')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^gossip-cdn: error: --tls-ca \(TLS_CA\): cannot read .*no-such-ca\.pem \(ENOENT\)$/);
  }, 90_000);

  it('a plain-HTTP request to the TLS listener gets no blob bytes and no HTTP answer', async () => {
    const key = randomUUID();
    const marker = `plain-text-must-not-leak-${randomUUID()}`;
    const res = await request(`${node.url}/blobs/${key}`, { method: 'PUT', body: marker, dispatcher: ca.agent });
    await res.body.dump();
    expect(res.statusCode).toBe(201);
    const answer = await rawRequest(node.host, node.port, `GET /blobs/${key} HTTP/1.1\r\nHost: ${node.host}\r\nConnection: close\r\n\r\n`);
    expect(answer.text).not.toContain(marker);
    expect(answer.statuses.filter((s) => s < 400)).toEqual([]);
    expect(answer.closedByServer).toBe(true);
  });

  it('drops a TCP connection that never starts its handshake, and a TLS connection that never sends a request', async () => {
    let rawClosed = false;
    await openSocket(node.host, node.port, () => { rawClosed = true; });
    await waitFor(() => rawClosed, { what: 'the silent TCP connection to be closed by the server', timeoutMs: 15_000 });

    let tlsClosed = false;
    let handshaken = false;
    await new Promise<void>((resolve, reject) => {
      const socket = tlsConnect({ host: node.host, port: node.port, ca: ca.pem }, () => { handshaken = true; resolve(); });
      socket.on('error', reject);
      socket.on('close', () => { tlsClosed = true; });
      socket.resume();
    });
    expect(handshaken).toBe(true);
    await waitFor(() => tlsClosed, { what: 'the silent TLS connection to be closed by the server', timeoutMs: 15_000 });
    // and the node still serves
    const res = await request(`${node.url}/healthz`, { dispatcher: ca.agent });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  }, 40_000);

  it('--max-connections counts raw TCP connections on a TLS listener: the excess is closed at once, and the node recovers', async () => {
    const CAP = 5;
    // a minute of headers (and handshake) timeout: whatever closes now was refused at the cap
    const capped = await startAloneTls((host) => ca.issue(`capped-${host}`, `IP:${host}`), ['--max-connections', String(CAP), '--headers-timeout', '60000']);
    const closed = new Set<number>();
    const sockets: Socket[] = [];
    try {
      // the health check's keep-alive connection may still hold a slot: open well past the cap
      for (let i = 0; i < 3 * CAP; i++) sockets.push(await openSocket(capped.host, capped.port, () => closed.add(i)));
      await waitFor(() => closed.size >= 2 * CAP, { what: 'the connections over the cap to be closed', timeoutMs: 30_000, intervalMs: 100 });
      expect(sockets.length - closed.size).toBeLessThanOrEqual(CAP);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    const metrics = await waitFor(async () => {
      const res = await request(`${capped.url}/metrics`, { dispatcher: ca.agent, headersTimeout: 2000, bodyTimeout: 2000 }).catch(() => undefined);
      return res?.statusCode === 200 ? res.body.text() : undefined;
    }, { what: 'the capped node to serve again', timeoutMs: 30_000, intervalMs: 200 });
    const dropped = Number(metrics.split('\n').find((l) => l.startsWith('cdn_http_connections_dropped_total'))?.split(' ')[1] ?? 0);
    expect(dropped).toBeGreaterThanOrEqual(2 * CAP);
    await capped.proc.stop(5000);
    await removeDir(capped.dataDir);
  }, 60_000);

  it('serves the status page over HTTPS with relative URLs only', async () => {
    const res = await request(`${node.url}/`, { dispatcher: ca.agent });
    expect(res.statusCode).toBe(200);
    const html = await res.body.text();
    const fetches = [...html.matchAll(/fetch\(\s*'([^']*)'/g)].map((m) => m[1]);
    expect(fetches).toContain('/cluster?nodes=1');
    // what the browser requests is relative, so it follows the page's scheme (the Point's URL is shown as text only)
    for (const url of fetches) expect(url).toMatch(/^\//);
    expect(html).not.toMatch(/(?:src|href|action)\s*=\s*["']?https?:/i);
  });
});

describe('README: the openssl recipe', () => {
  it('runs as written and makes a CA and a node certificate that the node accepts and that names IP 10.0.0.11', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const at = readme.indexOf('<!-- readme-test:tls-openssl -->');
    expect(at, 'README has no readme-test:tls-openssl block').toBeGreaterThan(-1);
    const script = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))?.[1] ?? '';
    const dir = await tempDir('gcdn-tls-readme-');
    try {
      await exec('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, timeout: 60_000 });
      const caCert = new X509Certificate(await readFile(join(dir, 'ca.pem')));
      const leaf = new X509Certificate(await readFile(join(dir, 'node1.pem')));
      expect(leaf.verify(caCert.publicKey)).toBe(true);
      expect(leaf.checkIP('10.0.0.11')).toBe('10.0.0.11');
      expect(loadTls({ cert: join(dir, 'node1.pem'), key: join(dir, 'node1.key'), ca: join(dir, 'ca.pem') }).server?.certificate.fingerprint256).toBe(leaf.fingerprint256);
    } finally {
      await removeDir(dir);
    }
  }, 60_000);
});

describe('TLS configuration errors: one line, non-zero exit', () => {
  let cert: CertPaths;
  let otherCert: CertPaths;
  let garbage: string;

  beforeAll(async () => {
    cert = await ca.issue('config', 'IP:127.0.0.1');
    otherCert = await ca.issue('config-other', 'IP:127.0.0.1');
    garbage = join(work, 'garbage.pem');
    await writeFile(garbage, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
  });

  const cases: [string, (c: { cert: CertPaths; otherCert: CertPaths; garbage: string; missing: string }) => { args: string[]; env?: NodeJS.ProcessEnv }, RegExp][] = [
    ['a certificate without its key', ({ cert }) => ({ args: ['--tls-cert', cert.cert] }), /--tls-key \(TLS_KEY\): is needed with --tls-cert \(TLS_CERT\)/],
    ['a key without its certificate (env twin)', ({ cert }) => ({ args: [], env: { TLS_KEY: cert.key } }), /--tls-cert \(TLS_CERT\): is needed with --tls-key \(TLS_KEY\)/],
    ['a missing certificate file', ({ cert, missing }) => ({ args: ['--tls-cert', missing, '--tls-key', cert.key] }), /--tls-cert \(TLS_CERT\): cannot read .*missing\.pem \(ENOENT\)/],
    ['a garbage certificate', ({ cert, garbage }) => ({ args: ['--tls-cert', garbage, '--tls-key', cert.key] }), /--tls-cert \(TLS_CERT\): .*garbage\.pem is not a valid PEM certificate/],
    ['a certificate as its own key', ({ cert }) => ({ args: ['--tls-cert', cert.cert, '--tls-key', cert.cert] }), /--tls-key \(TLS_KEY\): .* is not a valid PEM private key/],
    ['a key of another certificate', ({ cert, otherCert }) => ({ args: ['--tls-cert', cert.cert, '--tls-key', otherCert.key] }), /--tls-key \(TLS_KEY\): .* is not the key of the certificate in/],
    ['a garbage CA', ({ cert, garbage }) => ({ args: [...tlsArgs(cert, garbage)] }), /--tls-ca \(TLS_CA\): .*garbage\.pem is not a valid PEM certificate/],
  ];

  for (const command of ['node', 'bootstrap'] as const) {
    for (const [what, make, message] of cases) {
      it(`${command}: ${what}`, async () => {
        const { args, env } = make({ cert, otherCert, garbage, missing: join(work, 'missing.pem') });
        const base = command === 'node'
          ? ['node', '--alone', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(work, `never-${randomUUID()}`)]
          : ['bootstrap', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(work, `never-${randomUUID()}`)];
        const r = await runCli([...base, ...args], { env: { TLS_CERT: '', TLS_KEY: '', TLS_CA: '', ...env } });
        expect(r.code, r.stderr).toBe(1);
        const lines = r.stderr.trim().split('\n');
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(message);
        expect(lines[0]).not.toMatch(/BEGIN|PRIVATE KEY|\bat \S+:\d+/);
        expect(r.stdout).not.toMatch(/listening/);
      }, 30_000);
    }
  }
});

describe('a 3-node cluster and its Point, all over TLS', () => {
  const SECRET = `tls-cluster-secret-${randomUUID()}`;
  let cluster: TlsCluster;

  beforeAll(async () => {
    // The Point's certificate is from the other CA, the nodes' from the first: members verify with a
    // bundle of both, so a node that trusts only one of them fails either at the Point or at its peers.
    const bundle = join(work, 'bundle.pem');
    await writeFile(bundle, Buffer.concat([ca.pem, otherCa.pem]));
    cluster = await startTlsCluster(3, ca, { pointIssuer: otherCa, trust: bundle, pointArgs: ['--cluster-secret', SECRET], nodeEnv: { CLUSTER_SECRET: SECRET } });
  }, 240_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('the Point says https:// and refuses plain HTTP', async () => {
    expect(cluster.point.proc.output()).toContain(`Point listening on ${cluster.point.url}`);
    const answer = await rawRequest('127.0.0.1', cluster.point.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(answer.statuses.filter((s) => s < 400)).toEqual([]);
    expect(answer.text).not.toContain('"status"');
  });

  it('every node sees the others alive, through the Point and gossip over HTTPS', async () => {
    const { nodes } = cluster;
    await waitFor(async () => {
      for (const n of nodes) {
        const view = await tlsClusterView(n, ca.agent);
        for (const other of nodes) {
          if (other.id !== n.id && view.peers.find((p) => p.id === other.id)?.state !== 'alive') return false;
        }
      }
      return true;
    }, { what: 'the 3 TLS nodes to see each other alive', timeoutMs: 90_000, intervalMs: 250 });
    // the status page's fan-out reaches the peers over HTTPS too
    const withCounts = await tlsClusterView(nodes[0] as TlsCluster['nodes'][number], ca.agent, true);
    expect(withCounts.nodes?.map((n) => n.reachable)).toEqual([true, true, true]);
  }, 120_000);

  it('a PUT on node 1 is read from nodes 2 and 3', async () => {
    const [a, b, c] = cluster.nodes as [TlsCluster['nodes'][number], TlsCluster['nodes'][number], TlsCluster['nodes'][number]];
    const key = randomUUID();
    const body = randomBytes(8192);
    const put = await request(`${a.url}/blobs/${key}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' }, dispatcher: ca.agent });
    await put.body.dump();
    expect(put.statusCode).toBe(201);
    for (const n of [b, c]) {
      const got = await waitFor(async () => {
        const res = await request(`${n.url}/blobs/${key}`, { dispatcher: ca.agent, headersTimeout: 5000, bodyTimeout: 5000 });
        const bytes = Buffer.from(await res.body.arrayBuffer());
        return res.statusCode === 200 ? bytes : undefined;
      }, { what: `the blob on ${n.url}`, timeoutMs: 60_000, intervalMs: 200 });
      expect(Buffer.compare(got, body)).toBe(0);
    }
  }, 120_000);

  it('a node whose CA does not match the Point\'s certificate does not join, is not ready, says why at warn, and leaks no secret', async () => {
    // trusts only the nodes' CA: the Point (other CA) fails verification
    const stranger = await cluster.addNode({ trust: ca.ca, env: { CLUSTER_SECRET: SECRET } });
    await waitFor(() => /the Point is not answering as it should/.test(stranger.proc.output()), { what: 'the stranger to log the Point failure', timeoutMs: 30_000 });
    const log = stranger.proc.output();
    const warn = log.split('\n').find((l) => l.includes('the Point is not answering as it should')) ?? '';
    expect(warn).toMatch(/"level":40/);
    expect(warn).toMatch(/certificate/i);
    const ready = await request(`${stranger.url}/readyz`, { dispatcher: ca.agent });
    expect(ready.statusCode).toBe(503);
    expect(await ready.body.text()).toMatch(/not joined yet.*certificate/i);
    const view = await tlsClusterView(stranger, ca.agent);
    expect(view.peers.filter((p) => p.state === 'alive')).toEqual([]);
    const publicKey = ((await (await request(`${stranger.url}/cluster`, { dispatcher: ca.agent })).body.json()) as { publicKey: string }).publicKey;
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain(joinTokenFor(SECRET, publicKey));
    // the members never heard of it
    for (const n of cluster.nodes.slice(0, 3)) {
      expect((await tlsClusterView(n, ca.agent)).peers.map((p) => p.id)).not.toContain(stranger.id);
    }
    await stranger.proc.stop(5000);
  }, 90_000);

  it('a node whose CA does not match its peers\' certificates warns once per peer, and its peers see it suspect or dead', async () => {
    // trusts only the Point's CA: the Point verifies, the peers (first CA) do not
    const stranger = await cluster.addNode({ trust: otherCa.ca, env: { CLUSTER_SECRET: SECRET } });
    const members = cluster.nodes.slice(0, 3);
    await waitFor(() => members.every((m) => stranger.proc.output().includes(`"peer":"${m.id}"`)),
      { what: 'the stranger to warn about each of its peers', timeoutMs: 60_000, intervalMs: 200 });
    const warnings = stranger.proc.output().split('\n').filter((l) => l.includes('TLS certificate did not verify'));
    for (const m of members) {
      const about = warnings.filter((l) => l.includes(`"peer":"${m.id}"`));
      expect(about, `one warning about ${m.id}`).toHaveLength(1);
      expect(about[0]).toMatch(/"level":40/);
      expect(about[0]).toMatch(/"reason":"(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)"/);
    }
    // It hears the members (they can reach it) but cannot answer them: its acks never arrive, so
    // every member sees it not alive. (Its own view may list them alive: it receives their gossip.)
    await waitFor(async () => {
      for (const m of members) {
        const state = (await tlsClusterView(m, ca.agent)).peers.find((p) => p.id === stranger.id)?.state;
        if (state === undefined || state === 'alive') return false;
      }
      return true;
    }, { what: 'every member to know the stranger and see it not alive (suspect or dead)', timeoutMs: 60_000, intervalMs: 250 });
    expect(stranger.proc.output()).not.toContain(SECRET);
    await stranger.proc.stop(5000);
  }, 120_000);
});
