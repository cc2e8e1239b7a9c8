/**
 * Starting the three servers on loopback ports, preloading the same bytes
 * into each, and checking they answer what was preloaded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { HOST, freePort, sleep, spawnTracked, waitFor } from './procs.mjs';
import { startNginx, writeNginxConfig } from './nginx.mjs';
import { httpRequest, sha256 } from './http-client.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const note = (m) => process.stderr.write(`${m}\n`);

/**
 * A gossip-cdn node from `cli` (dist/cli.js) with a data dir under `dir`.
 * `nodeArgs` go to node itself (e.g. --cpu-prof), `extraArgs` to the node command.
 */
export async function startNode(name, cli, dir, { extraArgs = [], nodeArgs = [] } = {}) {
  const port = await freePort();
  const child = spawnTracked(name, process.execPath, [
    ...nodeArgs, cli, 'node', '--port', String(port), '--host', HOST, '--data-dir', join(dir, 'node-data'), '--log-level', 'warn', ...extraArgs,
  ]);
  await waitFor(`${name} on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`it exited (code ${child.exitCode}):\n${child.output.text}`);
    return (await httpRequest(port, 'GET', '/healthz', { timeoutMs: 2000 })).status === 200;
  }, { attempts: 150, intervalMs: 100 });
  // readiness: a lone node says ready once its store is open; a few seconds at most
  for (let i = 0; i < 50; i++) {
    if ((await httpRequest(port, 'GET', '/readyz', { timeoutMs: 2000 })).status === 200) break;
    if (i === 49) note(`warning: ${name} /readyz is not 200 after 5 s; measuring anyway`);
    await sleep(100);
  }
  return { port, child };
}

/** The bare node:http baseline serving `root/blobs/` (`mem`: GET bodies kept in RAM after the first read). */
export async function startBare(root, { mem = false } = {}) {
  const port = await freePort();
  const child = spawnTracked(mem ? 'bare node:http (RAM)' : 'bare node:http', process.execPath, [join(HERE, '..', 'bare-server.mjs'), '--port', String(port), '--root', root, ...(mem ? ['--mem'] : [])]);
  await waitFor(`the bare node:http server on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`it exited (code ${child.exitCode}):\n${child.output.text}`);
    return (await httpRequest(port, 'GET', '/', { timeoutMs: 2000 })).status === 200;
  }, { attempts: 100, intervalMs: 100 });
  return { port, child };
}

function readLogTail(path) {
  try { return readFileSync(path, 'utf8').slice(-2000); } catch { return ''; }
}

/** nginx with its config, pid and temp files in `dir`, serving `root/blobs/`. */
export async function startNginxServer(name, nginx, dir, root, workers) {
  const port = await freePort();
  const conf = writeNginxConfig(dir, { port, root, workers, dav: nginx.dav });
  const child = startNginx(name, nginx.bin, conf, dir);
  await waitFor(`nginx on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`it exited (code ${child.exitCode}):\n${child.output.text}${readLogTail(join(dir, 'logs', 'error.log'))}`);
    return (await httpRequest(port, 'GET', '/', { timeoutMs: 2000 })).status > 0;
  }, { attempts: 100, intervalMs: 100 });
  return { port, child };
}

/**
 * The same `count` blobs of `size` random bytes into every server: PUT to
 * nodes (`viaPut`), files under `fileRoot/blobs/` for the others (a server
 * with neither shares another's files). Then every server must give back the same
 * bytes. Returns the paths.
 */
export async function preload(servers, size, count) {
  const paths = [];
  const digests = [];
  const queue = [];
  const nodes = servers.filter((s) => s.viaPut);
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const body = randomBytes(size);
    const path = `/blobs/${id}`;
    paths.push(path);
    digests.push(sha256(body));
    for (const s of servers) {
      if (s.fileRoot !== undefined) writeFileSync(join(s.fileRoot, 'blobs', id), body);
    }
    for (const node of nodes) {
      queue.push(httpRequest(node.port, 'PUT', path, { body }).then((r) => {
        if (r.status !== 201 && r.status !== 200) throw new Error(`preload PUT ${path} to ${node.label} answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
      }));
    }
    if (queue.length >= 8) await Promise.all(queue.splice(0));
  }
  await Promise.all(queue);
  for (const s of servers) {
    for (const i of new Set([0, count - 1])) {
      const r = await httpRequest(s.port, 'GET', paths[i]);
      if (r.status !== 200 || sha256(r.body) !== digests[i]) {
        throw new Error(`${s.label}: GET ${paths[i]} answered ${r.status} with ${r.body.length} bytes that are not what was preloaded`);
      }
    }
  }
  return paths;
}

/** One PUT of a small body: undefined if the server takes PUTs, else why not. */
export async function putProblem(server) {
  try {
    const r = await httpRequest(server.port, 'PUT', `/blobs/${randomUUID()}`, { body: randomBytes(4 * 1024) });
    return r.status >= 200 && r.status < 300 ? undefined : `PUT answered ${r.status}`;
  } catch (err) {
    return `PUT failed: ${err.message}`;
  }
}
