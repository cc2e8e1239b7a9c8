/**
 * The floor baseline for `look`: a bare node:http server that answers
 * GET /look?key=K&numnodes=N with a single EVALSHA of the Point's own look
 * script (which authenticates K and samples) on the same Redis and the same
 * keys, shuffled and trimmed the same way, and nothing else: no express, no
 * schema validation, no ban filter, no metrics, no error shapes. The Point's
 * look divided by this is what our framework and validation cost.
 *
 * Usage: node bench/point/floor-server.mjs --port P --redis-url URL --prefix PREFIX
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import process from 'node:process';
import { Redis } from 'ioredis';
import { LOOK_SCRIPT, LOOK_SCRIPT_SHA } from '../../dist/bootstrap/look-script.js';
import { shuffledPrefix } from '../../dist/bootstrap/redis-registry.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'redis-url': { type: 'string' }, prefix: { type: 'string' } } });
const redis = new Redis(values['redis-url'], { enableOfflineQueue: true });
await redis.script('LOAD', LOOK_SCRIPT);
const prefix = values.prefix;

createServer((req, res) => {
  const url = new URL(req.url, 'http://floor');
  const count = Number(url.searchParams.get('numnodes') ?? 8);
  const key = url.searchParams.get('key') ?? '';
  redis.evalsha(LOOK_SCRIPT_SHA, 1, `${prefix}nodes`, prefix, key, String(count), String(Date.now())).then((rows) => {
    if (rows === null) {
      res.writeHead(401);
      res.end();
      return;
    }
    const body = JSON.stringify(shuffledPrefix(rows, count, Math.random).map(([id, ip, port, publicKey]) => ({ id, ip, port: Number(port), publicKey })));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }, (err) => {
    res.writeHead(503);
    res.end(String(err));
  });
}).listen(Number(values.port), '127.0.0.1', () => process.stdout.write('floor ready\n'));
