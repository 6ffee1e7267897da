import { test } from "node:test";
import assert from "node:assert/strict";
import { HyperLogLog } from "../../src/matrix/index.js";
import { HASH, hashBytes, hashNumber, hashString } from "../../src/matrix/hash64.js";
import { ConfigError } from "../../src/core/index.js";

test("a million distinct values: the estimate is within 1 % at p = 14 (standard error 0.81 %), strings and numbers", () => {
  const s = new HyperLogLog(14);
  const n = new HyperLogLog(14);
  for (let i = 0; i < 1_000_000; i++) {
    s.add(`user-${i}`);
    n.add(i);
  }
  assert.ok(Math.abs(s.standardError - 0.008125) < 1e-6);
  assert.ok(HyperLogLog.computeError(1_000_000, s.count()) <= 1, `strings: ${s.count()}`);
  assert.ok(HyperLogLog.computeError(1_000_000, n.count()) <= 1, `numbers: ${n.count()}`);
  // Adding the same values again changes nothing.
  const before = s.count();
  for (let i = 0; i < 1000; i++) s.add(`user-${i}`);
  assert.equal(s.count(), before);
});

test("the error over many independent sets matches the published bound 1.04/√m (RMS within 1.5×, every one within 4σ)", () => {
  for (const p of [8, 11]) {
    let sq = 0;
    const runs = 40;
    for (let r = 0; r < runs; r++) {
      const h = new HyperLogLog(p);
      const truth = 20_000;
      for (let i = 0; i < truth; i++) h.add(`set${r}:${p}:${i}`);
      const rel = (h.count() - truth) / truth;
      assert.ok(Math.abs(rel) < 4 * h.standardError, `p=${p} run ${r}: ${rel}`);
      sq += rel * rel;
    }
    const rms = Math.sqrt(sq / runs);
    const bound = 1.04 / Math.sqrt(2 ** p);
    assert.ok(rms < 1.5 * bound && rms > bound / 3, `p=${p}: RMS ${rms}, bound ${bound}`);
  }
});

test("small cardinalities are exact enough (linear counting): 0, 1, 10, 100 at p = 11", () => {
  const h = new HyperLogLog(11);
  assert.equal(h.count(), 0);
  h.add("x");
  assert.equal(Math.round(h.count()), 1);
  for (let i = 0; i < 10; i++) h.add(`v${i}`);
  assert.equal(Math.round(h.count()), 11);
  for (let i = 10; i < 100; i++) h.add(`v${i}`);
  assert.ok(Math.abs(h.count() - 101) <= 4, String(h.count()));
});

test("merge of two halves equals the sketch of the whole, register for register; overlapping sets count once", () => {
  const hll = new HyperLogLog(12);
  const whole = hll.allocate();
  const a = hll.allocate();
  const b = hll.allocate();
  for (let i = 0; i < 200_000; i++) {
    hll.add(`k${i}`, whole);
    hll.add(`k${i}`, i % 2 === 0 ? a : b);
  }
  hll.merge(a, b);
  assert.deepEqual(a, whole);
  assert.equal(hll.count(a), hll.count(whole));
  // Two overlapping halves [0, 150k) and [50k, 200k): the union is 200k, not 300k.
  const x = hll.allocate();
  const y = hll.allocate();
  for (let i = 0; i < 150_000; i++) hll.add(`k${i}`, x);
  for (let i = 50_000; i < 200_000; i++) hll.add(`k${i}`, y);
  hll.merge(x, y);
  assert.deepEqual(x, whole);
});

test("many sketches side by side in one register array (offset), as a matrix keeps them", () => {
  const hll = new HyperLogLog(10);
  const regs = hll.allocate(3);
  for (let i = 0; i < 5000; i++) hll.add(i, regs, 1 * hll.m);
  for (let i = 0; i < 50; i++) hll.add(`s${i}`, regs, 2 * hll.m);
  assert.equal(hll.count(regs, 0), 0);
  assert.ok(Math.abs(hll.count(regs, hll.m) - 5000) < 5000 * 4 * hll.standardError);
  assert.equal(Math.round(hll.count(regs, 2 * hll.m)), 50);
  hll.clear(regs, hll.m);
  assert.equal(hll.count(regs, hll.m), 0);
  assert.equal(Math.round(hll.count(regs, 2 * hll.m)), 50, "clearing one sketch leaves its neighbour");
});

test("precision and m are checked; alpha as BSPump", () => {
  assert.throws(() => new HyperLogLog(3), ConfigError);
  assert.throws(() => new HyperLogLog(19), ConfigError);
  assert.throws(() => HyperLogLog.withM(1000), ConfigError);
  assert.equal(HyperLogLog.withM(2048).precision, 11);
  assert.equal(new HyperLogLog(4).alpha, 0.673);
  assert.equal(new HyperLogLog(5).alpha, 0.697);
  assert.equal(new HyperLogLog(6).alpha, 0.709);
  assert.equal(new HyperLogLog(11).alpha, 0.7213 / (1 + 1.079 / 2048));
});

test("the 64-bit hash: deterministic, strings/bytes/numbers, the halves independent; MurmurHash3_x86_32 reference values", () => {
  const get = () => [HASH.hi, HASH.lo];
  hashString("hello");
  const h1 = get();
  hashString("hello");
  assert.deepEqual(get(), h1);
  hashString("hellp");
  assert.notDeepEqual(get(), h1);
  // The bytes lane is MurmurHash3_x86_32: with seed 0x9747b28c, "Hello, world!" hashes to 0x24884cba (published test vector).
  hashBytes(new TextEncoder().encode("Hello, world!"));
  assert.equal(HASH.hi, 0x24884cba);
  hashBytes(new Uint8Array(0));
  const empty = get();
  hashString("");
  assert.notEqual(empty[0], undefined);
  hashNumber(0);
  const zero = get();
  hashNumber(-0);
  assert.deepEqual(get(), zero);
  hashNumber(1);
  assert.notDeepEqual(get(), zero);
  // Bits of hi and lo agree about half the time over many inputs.
  let same = 0;
  for (let i = 0; i < 10_000; i++) {
    hashString(`x${i}`);
    same += 32 - popcount(HASH.hi ^ HASH.lo);
  }
  const share = same / (10_000 * 32);
  assert.ok(share > 0.49 && share < 0.51, String(share));
});

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
