import type { Matrix } from "./Matrix.js";
import { MatrixIndex, numericColumn, type SerializedIndex } from "./MatrixIndex.js";

/**
 * Interval lookup over two numeric fields, a range `[start, end)` per open row (BSPump's
 * TreeRangeIndex): the distinct boundaries of all ranges, sorted, cut the line into elementary
 * intervals, each holding the rows that cover it; `search(v)` finds v's interval by binary search
 * (BSPump walked a binary tree over the same boundaries) and returns those rows. A value at a
 * boundary belongs to the range starting there, as in BSPump; values before the first or at/after
 * the last boundary find nothing. Ranges may overlap (BSPump asserted they did not); a row whose
 * end is before its start covers nothing.
 */
export class TreeRangeIndex extends MatrixIndex {
  private bounds = new Float64Array(0);
  /** Per elementary interval `[bounds[i], bounds[i+1])`: the rows covering it. */
  private cover: number[][] = [];

  constructor(
    readonly columnStart: string,
    readonly columnEnd: string,
    matrix: Matrix,
    id?: string,
  ) {
    super(id);
    this.update(matrix);
  }

  update(matrix: Matrix): void {
    const starts = numericColumn(matrix, this.columnStart, this.id);
    const ends = numericColumn(matrix, this.columnEnd, this.id);
    const distinct = new Set<number>();
    for (let r = 0; r < matrix.capacity; r++) {
      if (!matrix.isOpen(r)) continue;
      distinct.add(starts[r]!);
      distinct.add(ends[r]!);
    }
    const bounds = Float64Array.from(distinct).sort();
    const cover: number[][] = Array.from({ length: Math.max(0, bounds.length - 1) }, () => []);
    for (let r = 0; r < matrix.capacity; r++) {
      if (!matrix.isOpen(r)) continue;
      const lo = indexAtOrBefore(bounds, starts[r]!);
      const hi = indexAtOrBefore(bounds, ends[r]!);
      for (let i = lo; i < hi; i++) cover[i]!.push(r);
    }
    this.bounds = bounds;
    this.cover = cover;
  }

  search(value: number | string): Set<number> {
    const v = Number(value);
    const b = this.bounds;
    if (!(b.length >= 2 && v >= b[0]! && v < b[b.length - 1]!)) return new Set();
    return new Set(this.cover[indexAtOrBefore(b, v)]);
  }

  override serialize(): SerializedIndex {
    return { ...super.serialize(), ranges: Array.from(this.bounds), cover: this.cover, column_start: this.columnStart, column_end: this.columnEnd };
  }
}

/** The largest i with sorted[i] ≤ v (-1 when v is before the first). */
export function indexAtOrBefore(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= v) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
