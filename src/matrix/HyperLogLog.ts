import { ConfigError } from "../core/index.js";
import { HASH, hashBytes, hashNumber, hashString } from "./hash64.js";

/** What a HyperLogLog counts: strings (by UTF-16 code units), numbers (by their bits; 3 and "3" differ), bytes; anything else as String(value). */
/** 2^−r for every rank a register can hold (≤ 64 − 4 + 1). */
const POW2_NEG = Float64Array.from({ length: 66 }, (_, r) => 2 ** -r);

export type HyperLogLogValue = string | number | Uint8Array | boolean | bigint;

/**
 * BSPump's `bspump.aggregation.HyperLogLog`: a cardinality estimator whose registers live in an
 * array the caller supplies (one Uint8Array may hold many sketches side by side: `offset` is where
 * a sketch's `m` registers begin), so that a matrix can keep a sketch per cell. `add()` hashes the
 * value (64 bits, see hash64.ts; BSPump: crc32), takes the first `p` bits as the register and the
 * rank of the first 1-bit of the rest, and keeps the maximum; `count()` is the HyperLogLog
 * estimate with the small-range (linear counting) correction. The standard error is
 * 1.04/√m (p = 11, BSPump's m = 2048: 2.3 %; p = 14: 0.81 %). Two sketches of the same precision
 * merge by taking the maximum of each register: the union counts each value once.
 *
 * Alpha as BSPump: 0.673, 0.697, 0.709 for m = 16, 32, 64, else 0.7213/(1 + 1.079/m). With a
 * 64-bit hash the large-range correction BSPump applied for its 32-bit hash is not needed.
 */
export class HyperLogLog {
  /** Bits of the hash that choose the register (4 … 18). */
  readonly precision: number;
  /** Registers per sketch: 2^precision. */
  readonly m: number;
  readonly alpha: number;
  /** Inline sketch for the one-sketch use (`new HyperLogLog(14).add(v)`). */
  readonly registers: Uint8Array;
  private readonly shift: number;

  constructor(precision = 11) {
    if (!Number.isInteger(precision) || precision < 4 || precision > 18) throw new ConfigError(`HyperLogLog precision must be an integer 4 … 18 (m = 16 … 262144), got ${precision}`);
    this.precision = precision;
    this.m = 1 << precision;
    this.shift = 32 - precision;
    this.alpha = this.m === 16 ? 0.673 : this.m === 32 ? 0.697 : this.m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / this.m);
    this.registers = new Uint8Array(this.m);
  }

  /** BSPump's constructor takes `m` (a power of two, 16 … 262144). */
  static withM(m: number): HyperLogLog {
    const p = Math.log2(m);
    if (!Number.isInteger(p)) throw new ConfigError(`HyperLogLog m must be a power of two, got ${m}`);
    return new HyperLogLog(p);
  }

  /** Zeroed registers for `sketches` sketches side by side. */
  allocate(sketches = 1): Uint8Array {
    return new Uint8Array(this.m * sketches);
  }

  /** Adds a value to the sketch at `offset` of `registers` (default: the inline sketch). */
  add(value: HyperLogLogValue, registers: Uint8Array = this.registers, offset = 0): void {
    if (typeof value === "string") hashString(value);
    else if (typeof value === "number") hashNumber(value);
    else if (value instanceof Uint8Array) hashBytes(value);
    else hashString(String(value));
    this.addHash(HASH.hi, HASH.lo, registers, offset);
  }

  /** Adds a 64-bit hash given as two unsigned 32-bit halves. */
  addHash(hi: number, lo: number, registers: Uint8Array, offset = 0): void {
    const idx = offset + (hi >>> this.shift);
    // The rank of the first 1-bit of the 64 − p bits after the index: the rest of `hi`, then `lo`.
    const rest = (hi << this.precision) >>> 0;
    const rank = rest !== 0 ? Math.clz32(rest) + 1 : this.shift + Math.clz32(lo) + 1;
    if (rank > registers[idx]!) registers[idx] = rank;
  }

  /** The estimated number of distinct values added to the sketch at `offset`. */
  count(registers: Uint8Array = this.registers, offset = 0): number {
    const m = this.m;
    let sum = 0;
    let zeros = 0;
    for (let i = offset, end = offset + m; i < end; i++) {
      const r = registers[i]!;
      sum += POW2_NEG[r]!;
      if (r === 0) zeros++;
    }
    const raw = (this.alpha * m * m) / sum;
    // Small range: linear counting while there are empty registers (as BSPump and the paper).
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
    return raw;
  }

  /** Union: each register of the sketch at `intoOffset` becomes the maximum of it and the one at `fromOffset`. */
  merge(into: Uint8Array, from: Uint8Array, intoOffset = 0, fromOffset = 0): void {
    const m = this.m;
    for (let i = 0; i < m; i++) {
      const v = from[fromOffset + i]!;
      if (v > into[intoOffset + i]!) into[intoOffset + i] = v;
    }
  }

  /** Zeroes the sketch at `offset`. */
  clear(registers: Uint8Array = this.registers, offset = 0): void {
    registers.fill(0, offset, offset + this.m);
  }

  /** The published standard error of the estimate, 1.04/√m. */
  get standardError(): number {
    return 1.04 / Math.sqrt(this.m);
  }

  /** BSPump's compute_error: the error of an estimate in percent of the truth. */
  static computeError(truth: number, estimate: number): number {
    return (Math.abs(estimate - truth) / truth) * 100;
  }
}
