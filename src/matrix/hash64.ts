/**
 * A 64-bit hash for HyperLogLog, in plain TypeScript: two MurmurHash3 (x86, 32-bit) lanes with
 * different seeds, run over the input in one pass. Each lane is MurmurHash3_x86_32 exactly (same
 * constants, tail and finalizer), so the two 32-bit halves are two independent well-mixed hashes;
 * together they give HyperLogLog its index bits and 64 − p bits for the rank, so no large-range
 * correction is needed (BSPump hashed with crc32, 32 bits, which saturates near 2^32 / m values).
 *
 * Strings are hashed by UTF-16 code units, two per 32-bit word (no UTF-8 encoding, so no
 * allocation per value); bytes four per word; numbers by their IEEE-754 bits. The result is left
 * in `HASH.hi` / `HASH.lo` (no object per call).
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED_HI = 0x9747b28c;
const SEED_LO = 0x5bd1e995;

/** The last hash computed: two unsigned 32-bit halves. */
export const HASH = { hi: 0, lo: 0 };

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Hashes a string (UTF-16 code units) into HASH. */
export function hashString(s: string): void {
  let h1 = SEED_HI;
  let h2 = SEED_LO;
  const n = s.length;
  const even = n & ~1;
  for (let i = 0; i < even; i += 2) {
    const k = mixK(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
    h1 = mixH(h1, k);
    h2 = mixH(h2, k);
  }
  if (n !== even) {
    const k = mixK(s.charCodeAt(even));
    h1 ^= k;
    h2 ^= k;
  }
  h1 ^= n * 2;
  h2 ^= n * 2;
  HASH.hi = fmix(h1);
  HASH.lo = fmix(h2);
}

/** Hashes bytes into HASH (MurmurHash3_x86_32 per lane, little-endian words). */
export function hashBytes(b: Uint8Array): void {
  let h1 = SEED_HI;
  let h2 = SEED_LO;
  const n = b.length;
  const whole = n & ~3;
  for (let i = 0; i < whole; i += 4) {
    const k = mixK(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    h1 = mixH(h1, k);
    h2 = mixH(h2, k);
  }
  const tail = n & 3;
  if (tail !== 0) {
    let k = b[whole]!;
    if (tail > 1) k ^= b[whole + 1]! << 8;
    if (tail > 2) k ^= b[whole + 2]! << 16;
    k = mixK(k);
    h1 ^= k;
    h2 ^= k;
  }
  h1 ^= n;
  h2 ^= n;
  HASH.hi = fmix(h1);
  HASH.lo = fmix(h2);
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** Hashes a number by its IEEE-754 bits (−0 as 0), into HASH. */
export function hashNumber(x: number): void {
  F64[0] = x === 0 ? 0 : x;
  const k1 = mixK(U32[0]!);
  const k2 = mixK(U32[1]!);
  HASH.hi = fmix(mixH(mixH(SEED_HI, k1), k2) ^ 8);
  HASH.lo = fmix(mixH(mixH(SEED_LO, k1), k2) ^ 8);
}
