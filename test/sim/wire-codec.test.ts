/**
 * The simulator's wire codec must size every message exactly as
 * JSON.stringify does and hand the receiver what JSON.parse would give it,
 * frozen; items are remembered across messages without going stale.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GossipMessage } from '../../src/gossip/core/messages.js';
import { WireCodec } from '../../tools/sim/wire-codec.js';

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const update = fc.record({
  id: hex(16).map((h) => `n${h}`),
  address: fc.constantFrom('10.0.0.1:7000', '[::1]:80', 'host-"odd"\\name:1'),
  publicKey: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
  incarnation: fc.nat(),
  state: fc.constantFrom('alive', 'suspect', 'dead', 'left'),
  by: fc.option(hex(16).map((h) => `n${h}`), { nil: undefined }),
});
const version = fc.record({
  key: fc.uuid(),
  clock: fc.dictionary(hex(16).map((h) => `n${h}`), fc.integer({ min: 1, max: 1e9 }), { maxKeys: 3 }),
  timestamp: fc.record({ wall: fc.nat(), logical: fc.nat({ max: 100 }) }),
  origin: hex(16).map((h) => `n${h}`),
  sha256: hex(64),
  size: fc.nat(),
  contentType: fc.constantFrom('image/png', 'text/plain; charset="utf-8"', 'a\u00e9b'),
  tombstone: fc.boolean(),
});
const message = fc.oneof(
  fc.record({ v: fc.constant(1), from: fc.constant('n0123456789abcdef'), type: fc.constant('ping'), seq: fc.nat(), updates: fc.option(fc.array(update, { maxLength: 5 }), { nil: undefined }) }),
  fc.record({ v: fc.constant(1), from: fc.constant('n0123456789abcdef'), type: fc.constant('members'), members: fc.array(update, { maxLength: 5 }), reply: fc.boolean() }),
  fc.record({ v: fc.constant(1), from: fc.constant('n0123456789abcdef'), type: fc.constant('versions'), versions: fc.array(version, { maxLength: 4 }), held: fc.array(hex(64), { maxLength: 2 }), hops: fc.nat({ max: 64 }) }),
  fc.record({ v: fc.constant(1), from: fc.constant('n0123456789abcdef'), type: fc.constant('ae-nodes'), sid: fc.constant('abc'), nodes: fc.array(fc.tuple(hex(2), hex(16)), { maxLength: 4 }) }),
) as fc.Arbitrary<GossipMessage>;

describe('WireCodec', () => {
  it('sizes and copies any message exactly as JSON does, the first time and when its items come back', () => {
    const codec = new WireCodec();
    fc.assert(
      fc.property(message, (m) => {
        const json = JSON.stringify(m);
        for (let i = 0; i < 2; i++) {
          const { bytes, copy, piggybackBytes } = codec.encode(m);
          expect(bytes).toBe(json.length);
          const without = m.updates === undefined ? json : JSON.stringify({ ...m, updates: undefined });
          expect(piggybackBytes).toBe(json.length - without.length);
          expect(copy).toEqual(JSON.parse(json));
          expect(Object.isFrozen(copy)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(codec.hits).toBeGreaterThan(0);
  });

  it('a receiver that writes into a message it was handed fails instead of reaching the sender', () => {
    const codec = new WireCodec();
    const update = { id: 'n0123456789abcdef', address: 'a:1', publicKey: 'k'.repeat(43), incarnation: 1, state: 'alive' as const };
    const { copy } = codec.encode({ v: 1, from: 'n0123456789abcdef', type: 'ping', seq: 1, updates: [update] });
    expect(() => {
      (copy as unknown as { seq: number }).seq = 2;
    }).toThrow(TypeError);
    expect(() => {
      ((copy.updates ?? [])[0] as { incarnation: number }).incarnation = 9;
    }).toThrow(TypeError);
    expect(update.incarnation).toBe(1);
  });
});
