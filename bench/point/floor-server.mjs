/**
 * The floor baselines for `look`: a server that answers
 * GET /look?key=K&numnodes=N with a single EVALSHA of the Point's own look
 * script (which authenticates K and samples) on the same Redis and the same
 * keys, shuffled and trimmed the same way, and nothing else: no schema
 * validation, no ban filter, no metrics, no error shapes.
 *
 *   --framework bare     a bare node:http server: the floor of the ratio
 *   --framework express  the same handler as one express 5 route: splits the
 *                        Point's overhead into "express" and "ours"
 *
 * Usage: node bench/point/floor-server.mjs --port P --redis-url URL --prefix PREFIX [--framework bare|express]
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import process from 'node:process';
import express from 'express';
import { Redis } from 'ioredis';
import { LOOK_SCRIPT, LOOK_SCRIPT_SHA } from '../../dist/bootstrap/look-script.js';
import { shuffledPrefix } from '../../dist/bootstrap/redis-registry.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'redis-url': { type: 'string' }, prefix: { type: 'string' }, framework: { type: 'string', default: 'bare' } } });
const redis = new Redis(values['redis-url'], { enableOfflineQueue: true });
await redis.script('LOAD', LOOK_SCRIPT);
const prefix = values.prefix;

function look(key, count, res) {
  // the registry stores sha256 of session keys, so the same script gets the same argument
  const sha = createHash('sha256').update(key).digest('base64url');
  redis.evalsha(LOOK_SCRIPT_SHA, 1, `${prefix}nodes`, prefix, sha, String(count), String(Date.now())).then((rows) => {
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
}

const handler = values.framework === 'express'
  ? express().disable('x-powered-by').set('etag', false).get('/look', (req, res) => look(String(req.query.key ?? ''), Number(req.query.numnodes ?? 8), res))
  : (req, res) => {
    const url = new URL(req.url, 'http://floor');
    look(url.searchParams.get('key') ?? '', Number(url.searchParams.get('numnodes') ?? 8), res);
  };
createServer(handler).listen(Number(values.port), '127.0.0.1', () => process.stdout.write('floor ready\n'));
