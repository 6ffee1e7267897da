import type { Matrix } from "./Matrix.js";
import { MatrixIndex, numericColumn, type SerializedIndex } from "./MatrixIndex.js";

/** More slices than this is a resolution too fine for the data (memory), not an index. */
const MAX_SLICES = 1_000_000;

/**
 * Interval lookup by fixed-width slices (BSPump's SliceIndex): from the smallest start to the
 * largest end of the open rows' ranges `[start, end)`, cut into slices of `resolution` (default:
 * the narrowest range's width); each slice lists the rows that overlap it. `search(v)` takes v's
 * slice in O(1) and keeps the rows whose range contains v, so the answer is exact also where
 * ranges do not line up with the slices. A resolution that would make more than a million slices
 * is a RangeError.
 */
export class SliceIndex extends MatrixIndex {
  private min = 0;
  private max = 0;
  private width = 1;
  private slices: number[][] = [];
  private starts = new Float64Array(0);
  private ends = new Float64Array(0);

  constructor(
    readonly columnStart: string,
    readonly columnEnd: string,
    matrix: Matrix,
    readonly resolution?: number,
    id?: string,
  ) {
    super(id);
    if (resolution !== undefined && !(resolution > 0)) throw new RangeError(`${this.id}: resolution must be > 0, got ${resolution}`);
    this.update(matrix);
  }

  update(matrix: Matrix): void {
    const starts = numericColumn(matrix, this.columnStart, this.id).slice();
    const ends = numericColumn(matrix, this.columnEnd, this.id).slice();
    let min = Infinity;
    let max = -Infinity;
    let narrowest = Infinity;
    const rows: number[] = [];
    for (let r = 0; r < matrix.capacity; r++) {
      if (!matrix.isOpen(r) || !(ends[r]! > starts[r]!)) continue;
      rows.push(r);
      min = Math.min(min, starts[r]!);
      max = Math.max(max, ends[r]!);
      narrowest = Math.min(narrowest, ends[r]! - starts[r]!);
    }
    this.starts = starts;
    this.ends = ends;
    if (rows.length === 0) {
      this.slices = [];
      this.min = this.max = 0;
      return;
    }
    const width = this.resolution ?? narrowest;
    const count = Math.ceil((max - min) / width);
    if (count > MAX_SLICES) throw new RangeError(`${this.id}: ${count} slices of ${width} from ${min} to ${max}; give a coarser resolution`);
    const slices: number[][] = Array.from({ length: count }, () => []);
    for (const r of rows) {
      const first = Math.floor((starts[r]! - min) / width);
      const last = Math.min(count - 1, Math.ceil((ends[r]! - min) / width) - 1);
      for (let k = first; k <= last; k++) slices[k]!.push(r);
    }
    this.min = min;
    this.max = max;
    this.width = width;
    this.slices = slices;
  }

  search(value: number | string): Set<number> {
    const v = Number(value);
    const out = new Set<number>();
    if (!(v >= this.min && v < this.max)) return out;
    const slice = this.slices[Math.floor((v - this.min) / this.width)] ?? [];
    for (const r of slice) if (this.starts[r]! <= v && v < this.ends[r]!) out.add(r);
    return out;
  }

  override serialize(): SerializedIndex {
    return { ...super.serialize(), min: this.min, max: this.max, resolution: this.width, slices: this.slices, column_start: this.columnStart, column_end: this.columnEnd };
  }
}
