// BLAKE2b and BLAKE2s (RFC 7693) for the digest sizes node:crypto cannot produce: OpenSSL offers
// only the full BLAKE2b-512 and BLAKE2s-256, and a shorter BLAKE2 digest is not a truncation (the
// size is part of the parameter block). Used by HashingProcessor for `digest_size` < the full size;
// the full sizes go to node:crypto. Checked against RFC 7693's self-test (test/crypto).

const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

// The same eight words as SHA-512's (BLAKE2b, 64-bit, as lo/hi pairs) and SHA-256's (BLAKE2s).
const IV32 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const IV64 = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]);

/** The message: key block (if any) then data, in blocks of `size` bytes; calls `compress` per block. */
function blocks(data: Uint8Array, key: Uint8Array, size: number, compress: (block: Uint8Array, t: number, last: boolean) => void): void {
  const input = key.length > 0 ? Buffer.concat([Buffer.alloc(size, 0).fill(key, 0, key.length), data]) : data;
  const n = Math.max(1, Math.ceil(input.length / size));
  const block = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    const end = Math.min(input.length, (i + 1) * size);
    block.fill(0);
    block.set(input.subarray(i * size, end));
    compress(block, end, i === n - 1);
  }
}

function checkSizes(name: string, outlen: number, key: Uint8Array, max: number): void {
  if (!Number.isInteger(outlen) || outlen < 1 || outlen > max) throw new RangeError(`${name} digest size must be 1–${max} bytes, got ${outlen}`);
  if (key.length > max) throw new RangeError(`${name} key must be at most ${max} bytes`);
}

/** BLAKE2b with an `outlen`-byte digest (1–64) and an optional key (≤ 64 bytes). */
export function blake2b(data: Uint8Array, outlen: number, key: Uint8Array = new Uint8Array(0)): Buffer {
  checkSizes("BLAKE2b", outlen, key, 64);
  const h = new Uint32Array(IV64);
  h[0] = h[0]! ^ 0x01010000 ^ (key.length << 8) ^ outlen;
  const v = new Uint32Array(32);
  const m = new Uint32Array(32);
  const add = (a: number, b: number): void => {
    const lo = v[a]! + v[b]!;
    v[a + 1] = v[a + 1]! + v[b + 1]! + (lo >= 0x100000000 ? 1 : 0);
    v[a] = lo;
  };
  const addm = (a: number, i: number): void => {
    const lo = v[a]! + m[i]!;
    v[a + 1] = v[a + 1]! + m[i + 1]! + (lo >= 0x100000000 ? 1 : 0);
    v[a] = lo;
  };
  // One G on 64-bit words at v[a], v[b], v[c], v[d] (indices of lo halves); x, y: message word indices.
  const g = (a: number, b: number, c: number, d: number, x: number, y: number): void => {
    add(a, b); addm(a, x);
    let lo = v[d]! ^ v[a]!; let hi = v[d + 1]! ^ v[a + 1]!;
    v[d] = hi; v[d + 1] = lo; // rotr 32
    add(c, d);
    lo = v[b]! ^ v[c]!; hi = v[b + 1]! ^ v[c + 1]!;
    v[b] = (lo >>> 24) ^ (hi << 8); v[b + 1] = (hi >>> 24) ^ (lo << 8); // rotr 24
    add(a, b); addm(a, y);
    lo = v[d]! ^ v[a]!; hi = v[d + 1]! ^ v[a + 1]!;
    v[d] = (lo >>> 16) ^ (hi << 16); v[d + 1] = (hi >>> 16) ^ (lo << 16); // rotr 16
    add(c, d);
    lo = v[b]! ^ v[c]!; hi = v[b + 1]! ^ v[c + 1]!;
    v[b] = (hi >>> 31) ^ (lo << 1); v[b + 1] = (lo >>> 31) ^ (hi << 1); // rotr 63
  };
  blocks(data, key, 128, (block, t, last) => {
    for (let i = 0; i < 16; i++) { v[i] = h[i]!; v[i + 16] = IV64[i]!; }
    v[24] = v[24]! ^ (t >>> 0);
    v[25] = v[25]! ^ Math.floor(t / 0x100000000);
    if (last) { v[28] = ~v[28]!; v[29] = ~v[29]!; }
    for (let i = 0; i < 32; i++) m[i] = block[4 * i]! | (block[4 * i + 1]! << 8) | (block[4 * i + 2]! << 16) | (block[4 * i + 3]! << 24);
    for (let r = 0; r < 12; r++) {
      const s = SIGMA[r % 10]!;
      g(0, 8, 16, 24, 2 * s[0]!, 2 * s[1]!);
      g(2, 10, 18, 26, 2 * s[2]!, 2 * s[3]!);
      g(4, 12, 20, 28, 2 * s[4]!, 2 * s[5]!);
      g(6, 14, 22, 30, 2 * s[6]!, 2 * s[7]!);
      g(0, 10, 20, 30, 2 * s[8]!, 2 * s[9]!);
      g(2, 12, 22, 24, 2 * s[10]!, 2 * s[11]!);
      g(4, 14, 16, 26, 2 * s[12]!, 2 * s[13]!);
      g(6, 8, 18, 28, 2 * s[14]!, 2 * s[15]!);
    }
    for (let i = 0; i < 16; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 16]!;
  });
  return Buffer.from(h.buffer, 0, 64).subarray(0, outlen);
}

/** BLAKE2s with an `outlen`-byte digest (1–32) and an optional key (≤ 32 bytes). */
export function blake2s(data: Uint8Array, outlen: number, key: Uint8Array = new Uint8Array(0)): Buffer {
  checkSizes("BLAKE2s", outlen, key, 32);
  const h = new Uint32Array(IV32);
  h[0] = h[0]! ^ 0x01010000 ^ (key.length << 8) ^ outlen;
  const v = new Uint32Array(16);
  const m = new Uint32Array(16);
  const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));
  const g = (a: number, b: number, c: number, d: number, x: number, y: number): void => {
    v[a] = v[a]! + v[b]! + x; v[d] = rotr(v[d]! ^ v[a]!, 16);
    v[c] = v[c]! + v[d]!; v[b] = rotr(v[b]! ^ v[c]!, 12);
    v[a] = v[a]! + v[b]! + y; v[d] = rotr(v[d]! ^ v[a]!, 8);
    v[c] = v[c]! + v[d]!; v[b] = rotr(v[b]! ^ v[c]!, 7);
  };
  blocks(data, key, 64, (block, t, last) => {
    for (let i = 0; i < 8; i++) { v[i] = h[i]!; v[i + 8] = IV32[i]!; }
    v[12] = v[12]! ^ (t >>> 0);
    v[13] = v[13]! ^ Math.floor(t / 0x100000000);
    if (last) v[14] = ~v[14]!;
    for (let i = 0; i < 16; i++) m[i] = block[4 * i]! | (block[4 * i + 1]! << 8) | (block[4 * i + 2]! << 16) | (block[4 * i + 3]! << 24);
    for (let r = 0; r < 10; r++) {
      const s = SIGMA[r]!;
      g(0, 4, 8, 12, m[s[0]!]!, m[s[1]!]!);
      g(1, 5, 9, 13, m[s[2]!]!, m[s[3]!]!);
      g(2, 6, 10, 14, m[s[4]!]!, m[s[5]!]!);
      g(3, 7, 11, 15, m[s[6]!]!, m[s[7]!]!);
      g(0, 5, 10, 15, m[s[8]!]!, m[s[9]!]!);
      g(1, 6, 11, 12, m[s[10]!]!, m[s[11]!]!);
      g(2, 7, 8, 13, m[s[12]!]!, m[s[13]!]!);
      g(3, 4, 9, 14, m[s[14]!]!, m[s[15]!]!);
    }
    for (let i = 0; i < 8; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 8]!;
  });
  return Buffer.from(h.buffer, 0, 32).subarray(0, outlen);
}
