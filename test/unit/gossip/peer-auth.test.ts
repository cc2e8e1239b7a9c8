import { describe, expect, it } from 'vitest';
import { PeerAuth, type PeerRegistry, type Vouch } from '../../../src/gossip/shell/peer-auth.js';
import { VirtualClock } from '../../../tools/sim/virtual-clock.js';

/** The Point's answers, as a table the test controls (a protocol seam, not a client stub). */
class TableRegistry implements PeerRegistry {
  answers = new Map<string, Vouch | 'unknown' | 'unreachable'>();
  asked = 0;
  async vouch(id: string): Promise<Vouch | 'unknown' | 'unreachable'> {
    this.asked++;
    return this.answers.get(id) ?? 'unknown';
  }
}

const rec: Vouch = { ip: '127.0.0.5', port: 7000, publicKey: 'K' };

describe('PeerAuth', () => {
  it('admits a vouched peer from its registered address only', async () => {
    const reg = new TableRegistry();
    reg.answers.set('a', rec);
    const auth = new PeerAuth(reg, new VirtualClock());
    await auth.admit('a', 'K', '127.0.0.5');
    await expect(auth.admit('a', 'K', '127.0.0.6')).rejects.toMatchObject({ code: 'GOSSIP_ERR_BANNED_PEER' });
    await expect(auth.admit('a', 'other', '127.0.0.5')).rejects.toMatchObject({ code: 'GOSSIP_ERR_UNKNOWN_PEER' });
    await expect(auth.admit('b', 'K', '127.0.0.5')).rejects.toMatchObject({ code: 'GOSSIP_ERR_UNKNOWN_PEER' });
  });

  it('caches answers, asks again after the TTL, and keeps known peers while the Point is unreachable', async () => {
    const clock = new VirtualClock();
    const reg = new TableRegistry();
    reg.answers.set('a', rec);
    const auth = new PeerAuth(reg, clock, { ttlMs: 1000, negativeTtlMs: 100, capacity: 10 });
    await auth.admit('a', 'K', '127.0.0.5');
    await auth.admit('a', 'K', '127.0.0.5');
    expect(reg.asked).toBe(1);
    reg.answers.set('a', 'unreachable');
    clock.advanceTo(clock.now() + 2000);
    await auth.admit('a', 'K', '127.0.0.5');
    expect(reg.asked).toBe(2);
    reg.answers.set('a', 'unknown');
    clock.advanceTo(clock.now() + 2000);
    await expect(auth.admit('a', 'K', '127.0.0.5')).rejects.toMatchObject({ code: 'GOSSIP_ERR_UNKNOWN_PEER' });
  });

  it('asks once for concurrent requests and stays bounded', async () => {
    const reg = new TableRegistry();
    reg.answers.set('a', rec);
    const auth = new PeerAuth(reg, new VirtualClock(), { ttlMs: 1000, negativeTtlMs: 100, capacity: 5 });
    await Promise.all(Array.from({ length: 20 }, () => auth.admit('a', 'K', '127.0.0.5')));
    expect(reg.asked).toBe(1);
    for (let i = 0; i < 50; i++) await auth.admit(`x${i}`, 'K', '1').catch(() => undefined);
    expect((auth as unknown as { cache: Map<string, unknown> }).cache.size).toBeLessThanOrEqual(5);
  });

  it('a peer the Point stopped knowing (it left) is welcome again while the Point is unreachable', async () => {
    const clock = new VirtualClock();
    const reg = new TableRegistry();
    reg.answers.set('a', rec);
    const auth = new PeerAuth(reg, clock, { ttlMs: 1000, negativeTtlMs: 100, capacity: 10 });
    await auth.admit('a', 'K', '127.0.0.5');
    reg.answers.set('a', 'unknown');
    clock.advanceTo(clock.now() + 2000);
    await expect(auth.admit('a', 'K', '127.0.0.5')).rejects.toMatchObject({ code: 'GOSSIP_ERR_UNKNOWN_PEER' });
    reg.answers.set('a', 'unreachable');
    clock.advanceTo(clock.now() + 2000);
    await auth.admit('a', 'K', '127.0.0.5');
    auth.forget('a');
    await expect(auth.admit('a', 'K', '127.0.0.5')).rejects.toMatchObject({ code: 'GOSSIP_ERR_UNKNOWN_PEER' });
  });

  it('forget makes the next request ask again (a peer reported for bad data)', async () => {
    const reg = new TableRegistry();
    reg.answers.set('a', rec);
    const auth = new PeerAuth(reg, new VirtualClock());
    await auth.admit('a', 'K', '127.0.0.5');
    reg.answers.set('a', 'unknown');
    auth.forget('a');
    await expect(auth.admit('a', 'K', '127.0.0.5')).rejects.toMatchObject({ code: 'GOSSIP_ERR_UNKNOWN_PEER' });
  });
});
