import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { generateIdentity } from '../../../src/identity/keystore.js';
import { ReplayGuard, SIGNATURE_WINDOW_MS, signRequest, verifyRequest } from '../../../src/gossip/shell/signing.js';
import { VirtualClock } from '../../../tools/sim/virtual-clock.js';

const nonce = (): string => randomBytes(16).toString('base64url');

describe('signed requests', () => {
  const alice = generateIdentity();
  const mallory = generateIdentity();
  const body = Buffer.from('{"hello":1}');

  function setup() {
    const clock = new VirtualClock();
    return { clock, replay: new ReplayGuard(clock) };
  }

  it('verifies a request signed by its sender', () => {
    const { clock, replay } = setup();
    const headers = signRequest(alice, 'POST', '/gossip/message', body, clock.now(), nonce());
    expect(verifyRequest(headers, 'POST', '/gossip/message', body, clock, replay)).toEqual({ id: alice.id, publicKey: alice.publicKey });
  });

  it.each([
    ['method', (h: Record<string, string>) => ({ h, method: 'GET', path: '/gossip/message', body })],
    ['path', (h: Record<string, string>) => ({ h, method: 'POST', path: '/gossip/other', body })],
    ['body', (h: Record<string, string>) => ({ h, method: 'POST', path: '/gossip/message', body: Buffer.from('{"hello":2}') })],
    ['timestamp', (h: Record<string, string>) => ({ h: { ...h, 'x-gossip-timestamp': String(Number(h['x-gossip-timestamp']) + 1) }, method: 'POST', path: '/gossip/message', body })],
    ['nonce', (h: Record<string, string>) => ({ h: { ...h, 'x-gossip-nonce': nonce() }, method: 'POST', path: '/gossip/message', body })],
  ])('any change to the %s breaks the signature', (_what, tamper) => {
    const { clock, replay } = setup();
    const t = tamper(signRequest(alice, 'POST', '/gossip/message', body, clock.now(), nonce()));
    expect(() => verifyRequest(t.h, t.method, t.path, t.body, clock, replay)).toThrow(expect.objectContaining({ code: 'GOSSIP_ERR_BAD_SIGNATURE' }));
  });

  it('refuses unsigned, impersonated, stale and replayed requests', () => {
    const { clock, replay } = setup();
    expect(() => verifyRequest({}, 'POST', '/p', body, clock, replay)).toThrow(expect.objectContaining({ code: 'GOSSIP_ERR_UNSIGNED' }));
    const claimed = { ...signRequest(mallory, 'POST', '/p', body, clock.now(), nonce()), 'x-gossip-node': alice.id };
    expect(() => verifyRequest(claimed, 'POST', '/p', body, clock, replay)).toThrow(expect.objectContaining({ code: 'GOSSIP_ERR_BAD_SIGNATURE' }));
    const borrowed = { ...signRequest(mallory, 'POST', '/p', body, clock.now(), nonce()), 'x-gossip-node': alice.id, 'x-gossip-key': alice.publicKey };
    expect(() => verifyRequest(borrowed, 'POST', '/p', body, clock, replay)).toThrow(expect.objectContaining({ code: 'GOSSIP_ERR_BAD_SIGNATURE' }));
    const old = signRequest(alice, 'POST', '/p', body, clock.now() - SIGNATURE_WINDOW_MS - 1, nonce());
    expect(() => verifyRequest(old, 'POST', '/p', body, clock, replay)).toThrow(expect.objectContaining({ code: 'GOSSIP_ERR_STALE' }));
    const once = signRequest(alice, 'POST', '/p', body, clock.now(), nonce());
    verifyRequest(once, 'POST', '/p', body, clock, replay);
    expect(() => verifyRequest(once, 'POST', '/p', body, clock, replay)).toThrow(expect.objectContaining({ code: 'GOSSIP_ERR_REPLAY' }));
  });

  it('the replay guard holds each nonce for twice the window, and refuses rather than forgets when full', () => {
    const clock = new VirtualClock();
    const guard = new ReplayGuard(clock, { windowMs: 1_000, capacity: 100 });
    for (let i = 0; i < 100; i++) expect(guard.firstSighting('n', String(i))).toBe(true);
    expect(guard.firstSighting('n', '99')).toBe(false);
    expect(() => guard.firstSighting('n', 'one more')).toThrow(expect.objectContaining({ code: 'GOSSIP_ERR_BUSY' }));
    clock.advanceTo(clock.now() + 2_000);
    // still held at exactly twice the window: a replay is still refused
    expect(guard.firstSighting('n', '0')).toBe(false);
    clock.advanceTo(clock.now() + 1);
    expect(guard.firstSighting('n', 'one more')).toBe(true);
    expect(guard.size).toBe(1);
  });

  it('accepts timestamps up to the window from its clock either way, and names the offset beyond', () => {
    const clock = new VirtualClock();
    const replay = new ReplayGuard(clock, { windowMs: 300_000 });
    for (const skew of [-300_000, -60_000, 60_000, 300_000]) {
      const h = signRequest(alice, 'POST', '/p', body, clock.now() + skew, nonce());
      expect(verifyRequest(h, 'POST', '/p', body, clock, replay).id).toBe(alice.id);
    }
    const ahead = signRequest(alice, 'POST', '/p', body, clock.now() + 300_001, nonce());
    expect(() => verifyRequest(ahead, 'POST', '/p', body, clock, replay)).toThrow(expect.objectContaining({ code: 'GOSSIP_ERR_STALE', message: expect.stringContaining('300 s from this node') }));
  });
});
