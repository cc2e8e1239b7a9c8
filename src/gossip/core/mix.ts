/** Integer mixing shared by placement scores and anti-entropy's packed hash slices. */

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
