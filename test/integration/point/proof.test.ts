/**
 * Key possession at the Point (issue 13): `/reg` needs a single-use challenge
 * from `/reg/challenge` signed by the private key of the public key it
 * registers. Against real Points, on real Redis and PostgreSQL and in the
 * embedded registry: registering someone else's key, replaying a proof,
 * moving a proof to another port or key, a used or expired challenge are all
 * refused; honest nodes register and heartbeat; Points sharing one Redis
 * accept each other's challenges; a challenge flood is capped per address.
 */
import { describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import { regProofMessage } from '../../../src/bootstrap/caller.js';
import { generateIdentity, type NodeIdentity } from '../../../src/identity/keystore.js';
import { waitFor } from '../../helpers/wait.js';
import { call, challengeFor, pointsOnRealBackends, provenReg, q, registerNode } from './harness.js';

const backends = pointsOnRealBackends();

/** A /reg body with `challenge`, signed by `signer` for `publicKey` at `port`. */
function signedBody(challenge: string, signer: NodeIdentity, publicKey = signer.publicKey, port = 7000): Record<string, unknown> {
  return { port, publicKey, challenge, signature: signer.sign(regProofMessage(challenge, publicKey, port)) };
}

async function expectRefused(url: string, body: Record<string, unknown>, from: string, code = 'POINT_ERR_BAD_PROOF'): Promise<void> {
  const answer = await call(url, 'POST', '/reg', { from, body });
  expect([answer.status, answer.code]).toEqual([401, code]);
  expect(JSON.stringify(answer.json)).not.toContain(String(body.signature ?? 'no signature'));
}

/** Whether `id` is registered, as another node asks the Point. */
async function registered(url: string, id: string): Promise<boolean> {
  const observer = await registerNode(url, '127.0.0.9');
  return (await call(url, 'GET', `/check${q({ key: observer.key, target: id })}`)).status === 200;
}

describe.each([
  ['on Redis and PostgreSQL', {}],
  ['embedded registry', { redisUrl: undefined }],
] as const)('POST /reg proves possession of the key, %s', (_name, overrides) => {
  const point = (more: Record<string, unknown> = {}): Promise<string> => backends.point({ ...overrides, ...more });

  test('an honest node registers with a signed challenge and heartbeats', async () => {
    const url = await point();
    const node = generateIdentity();
    const challenge = await challengeFor(url, node.publicKey, '127.0.0.2');
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const reg = await call(url, 'POST', '/reg', { from: '127.0.0.2', body: signedBody(challenge, node) });
    expect(reg.status).toBe(201);
    expect(reg.json).toMatchObject({ id: node.id });
    expect((await call(url, 'POST', '/heartbeat', { from: '127.0.0.2', body: { key: (reg.json as { key: string }).key } })).status).toBe(200);
  });

  test('no proof is 401 POINT_ERR_PROOF_REQUIRED; half a proof too', async () => {
    const url = await point();
    const node = generateIdentity();
    await expectRefused(url, { port: 7000, publicKey: node.publicKey }, '127.0.0.2', 'POINT_ERR_PROOF_REQUIRED');
    const challenge = await challengeFor(url, node.publicKey);
    await expectRefused(url, { port: 7000, publicKey: node.publicKey, challenge }, '127.0.0.2', 'POINT_ERR_PROOF_REQUIRED');
    // the challenge was not used up by that: the honest node still registers with it
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.2', body: signedBody(challenge, node) })).status).toBe(201);
  });

  test('someone else\'s public key cannot be registered: a proof by another key, a replayed proof, a challenge of another key', async () => {
    const url = await point();
    const victim = generateIdentity();
    const attacker = generateIdentity();
    // a challenge for the victim's key, signed by the attacker's key
    const forVictim = await challengeFor(url, victim.publicKey, '127.0.0.3');
    await expectRefused(url, signedBody(forVictim, attacker, victim.publicKey), '127.0.0.3');
    expect(await registered(url, victim.id)).toBe(false);

    // the victim registers; the attacker replays its exact proof from another address
    const honest = await provenReg(url, victim, 7000, {}, '127.0.0.2');
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.2', body: honest })).status).toBe(201);
    await expectRefused(url, honest, '127.0.0.3');

    // a challenge issued for the victim's key, used (with a valid signature) for the attacker's own key
    const victims = await challengeFor(url, victim.publicKey, '127.0.0.2');
    await expectRefused(url, signedBody(victims, attacker), '127.0.0.3');
    expect(await registered(url, attacker.id)).toBe(false);
  });

  test('a proof for another port or another key does not hold', async () => {
    const url = await point();
    const node = generateIdentity();
    const other = generateIdentity();
    const challenge = await challengeFor(url, node.publicKey);
    await expectRefused(url, { ...signedBody(challenge, node, node.publicKey, 7000), port: 7001 }, '127.0.0.2');
    await expectRefused(url, { ...signedBody(challenge, node), publicKey: other.publicKey }, '127.0.0.2');
    // a signature over other bytes (the bare challenge, no domain tag) does not hold either
    await expectRefused(url, { port: 7000, publicKey: node.publicKey, challenge, signature: node.sign(Buffer.from(challenge)) }, '127.0.0.2');
  });

  test('a challenge is single use', async () => {
    const url = await point();
    const node = generateIdentity();
    const challenge = await challengeFor(url, node.publicKey);
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.2', body: signedBody(challenge, node) })).status).toBe(201);
    await expectRefused(url, signedBody(challenge, node), '127.0.0.2');
    // and a fresh one works again (re-registration)
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.2', body: await provenReg(url, node) })).status).toBe(201);
  });

  test('an address holding --max-challenges unused challenges gets 429 with Retry-After until it uses one', async () => {
    const url = await point({ maxChallenges: 3 });
    const node = generateIdentity();
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await challengeFor(url, node.publicKey, '127.0.0.4'));
    const refused = await call(url, 'POST', '/reg/challenge', { from: '127.0.0.4', body: { publicKey: node.publicKey } });
    expect([refused.status, refused.code]).toEqual([429, 'POINT_ERR_RATE_LIMITED']);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // another address is not affected
    expect((await call(url, 'POST', '/reg/challenge', { from: '127.0.0.5', body: { publicKey: node.publicKey } })).status).toBe(201);
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.4', body: signedBody(held[0] as string, node) })).status).toBe(201);
    expect((await call(url, 'POST', '/reg/challenge', { from: '127.0.0.4', body: { publicKey: node.publicKey } })).status).toBe(201);
  });
});

describe('challenges in Redis', () => {
  test('an expired challenge is refused', async () => {
    const url = await backends.point({ challengeTtlSec: 1 });
    const node = generateIdentity();
    const challenge = await challengeFor(url, node.publicKey);
    const redis = new Redis(backends.redisUrl());
    try {
      const key = `${backends.prefix()}chal:${challenge}`;
      expect(await redis.exists(key)).toBe(1);
      expect(await redis.pttl(key)).toBeLessThanOrEqual(1000);
      await waitFor(async () => (await redis.exists(key)) === 0, { what: 'the challenge to lapse in Redis', timeoutMs: 10_000 });
    } finally {
      redis.disconnect();
    }
    await expectRefused(url, signedBody(challenge, node), '127.0.0.2');
  });

  test('two Points sharing one Redis accept each other\'s challenges, once', async () => {
    const first = await backends.point();
    const second = await backends.point({ redisPrefix: backends.prefix(0) });
    const node = generateIdentity();
    const challenge = await challengeFor(first, node.publicKey);
    const reg = await call(second, 'POST', '/reg', { from: '127.0.0.2', body: signedBody(challenge, node) });
    expect(reg.status).toBe(201);
    await expectRefused(first, signedBody(challenge, node), '127.0.0.2');
    expect((await call(first, 'POST', '/heartbeat', { from: '127.0.0.2', body: { key: (reg.json as { key: string }).key } })).status).toBe(200);
  });
});

describe('challenges in the embedded registry', () => {
  test('an expired challenge is refused', async () => {
    // the embedded registry's challenges lapse by its clock, which the test moves
    let offset = 0;
    const url = await backends.point({ redisUrl: undefined, challengeTtlSec: 60 }, () => Date.now() + offset);
    const node = generateIdentity();
    const challenge = await challengeFor(url, node.publicKey);
    offset = 61_000;
    await expectRefused(url, signedBody(challenge, node), '127.0.0.2');
    // a fresh one, within its TTL, works
    expect((await call(url, 'POST', '/reg', { from: '127.0.0.2', body: await provenReg(url, node) })).status).toBe(201);
  });
});
