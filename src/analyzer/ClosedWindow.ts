import type { TimeWindowMatrix } from "../matrix/TimeWindowMatrix.js";
import type { TimeWindowAnalyzer } from "./TimeWindowAnalyzer.js";

/** A value of a closed window per dimension: `count`, `sum`, `min`, `max` or `avg` (= sum / count). */
export type WindowMetric = "count" | "sum" | "min" | "max" | "avg";

/** The matrix columns a TimeWindowAnalyzer adds to, per aggregation: one array per time column (null: not kept). */
export interface WindowColumns {
  readonly count: Float64Array[];
  readonly sum: Float64Array[] | null;
  readonly min: Float64Array[] | null;
  readonly max: Float64Array[] | null;
}

/**
 * A window that has just closed, as detectors see it. Valid only during the call: the arrays may
 * be the matrix's own columns. Rows are indexed 0 … rows−1; a row whose `name` is undefined is free.
 */
export class ClosedWindow {
  start = 0;
  end = 0;
  rows = 0;
  count: Float64Array = new Float64Array(0);
  sum: Float64Array | null = null;
  min: Float64Array | null = null;
  max: Float64Array | null = null;
  /** The sums of a window of several columns, reused from window to window. */
  private scratch: { count: Float64Array; sum: Float64Array | null; min: Float64Array | null; max: Float64Array | null } | null = null;

  constructor(readonly analyzer: TimeWindowAnalyzer) {}

  name(row: number): string | undefined {
    return this.analyzer.matrix.getRowName(row);
  }

  value(metric: WindowMetric, row: number): number {
    switch (metric) {
      case "count":
        return this.count[row]!;
      case "sum":
        return this.sum ? this.sum[row]! : NaN;
      case "min":
        return this.min && this.count[row]! > 0 ? this.min[row]! : NaN;
      case "max":
        return this.max && this.count[row]! > 0 ? this.max[row]! : NaN;
      case "avg":
        return this.sum && this.count[row]! > 0 ? this.sum[row]! / this.count[row]! : NaN;
    }
  }

  /** A one-column window: the window's arrays are the matrix's own columns at physical index `pc` (no copy). */
  pointAt(cols: WindowColumns, pc: number): void {
    this.count = cols.count[pc]!;
    this.sum = cols.sum ? cols.sum[pc]! : null;
    this.min = cols.min ? cols.min[pc]! : null;
    this.max = cols.max ? cols.max[pc]! : null;
  }

  /**
   * A window of several columns: adds up the logical columns `firstCol` … `lastCol` (those outside
   * 0 … columns−1 are skipped) into reused arrays of `rows` rows.
   */
  sumOf(cols: WindowColumns, m: TimeWindowMatrix, firstCol: number, lastCol: number, columns: number, rows: number): void {
    const s = this.scratchFor(cols, rows);
    s.count.fill(0);
    s.sum?.fill(0);
    s.min?.fill(0);
    s.max?.fill(0);
    for (let col = firstCol; col <= lastCol; col++) {
      if (col < 0 || col >= columns) continue;
      const pc = m.physical(col);
      const c = cols.count[pc]!;
      const sum = cols.sum?.[pc];
      const min = cols.min?.[pc];
      const max = cols.max?.[pc];
      for (let r = 0; r < rows; r++) {
        const n = c[r]!;
        if (n === 0) continue;
        const before = s.count[r]!;
        s.count[r] = before + n;
        if (sum && s.sum) s.sum[r]! += sum[r]!;
        if (min && s.min && (before === 0 || min[r]! < s.min[r]!)) s.min[r] = min[r]!;
        if (max && s.max && (before === 0 || max[r]! > s.max[r]!)) s.max[r] = max[r]!;
      }
    }
    this.count = s.count;
    this.sum = s.sum;
    this.min = s.min;
    this.max = s.max;
  }

  private scratchFor(cols: WindowColumns, rows: number): { count: Float64Array; sum: Float64Array | null; min: Float64Array | null; max: Float64Array | null } {
    if (this.scratch === null || this.scratch.count.length !== rows) {
      this.scratch = {
        count: new Float64Array(rows),
        sum: cols.sum ? new Float64Array(rows) : null,
        min: cols.min ? new Float64Array(rows) : null,
        max: cols.max ? new Float64Array(rows) : null,
      };
    }
    return this.scratch;
  }
}

/** Looks at each closed window and emits events (outliers, classes, drops, threshold crossings). */
export interface WindowDetector {
  onWindow(window: ClosedWindow, emit: (event: Record<string, unknown>) => void): void;
  /** The analyzer closed an idle dimension (see `idle_timeout`): forget what is kept about it. */
  onDimensionClosed?(name: string): void;
}

/**
 * After `view` closed: marks the rows with data in it active at its end (in `m.lastActive`), and
 * returns the names of the rows idle since before `limit` that hold no data in any logical column
 * from `from` on (which a later window reads); null when there are none.
 */
export function idleDimensions(view: ClosedWindow, m: TimeWindowMatrix, cnt: Float64Array[], from: number, columns: number, limit: number): string[] | null {
  const last = m.lastActive;
  const count = view.count;
  let idle: string[] | null = null;
  for (let r = 0; r < view.rows; r++) {
    const name = m.getRowName(r);
    if (name === undefined) continue;
    if (count[r]! > 0) {
      last[r] = view.end;
      continue;
    }
    if (last[r]! > limit) continue;
    let pending = false;
    for (let col = from; col < columns; col++) {
      if (cnt[m.physical(col)]![r]! > 0) {
        pending = true;
        break;
      }
    }
    if (!pending) (idle ??= []).push(name);
  }
  return idle;
}
