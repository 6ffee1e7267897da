import type { ClosedWindow, WindowDetector, WindowMetric } from "./ClosedWindow.js";

/**
 * The seed's "mathematical operations over the value matrix", run on each closed window of a
 * TimeWindowAnalyzer. Each emits events that name the detector, the dimension, the window and the value.
 */

type Emit = (event: Record<string, unknown>) => void;

function header(type: string, w: ClosedWindow, dimension: string, value: number): Record<string, unknown> {
  return { "@timestamp": w.end, type, analyzer: w.analyzer.id, dimension, window_start: w.start, window_end: w.end, value };
}

/** The rows of the window's named dimensions and their values of `metric` (finite ones; zero counts only with `includeZero`). */
function dimensionValues(w: ClosedWindow, metric: WindowMetric, includeZero: boolean): { rows: number[]; values: number[] } {
  const rows: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < w.rows; r++) {
    if (w.name(r) === undefined) continue;
    if (!includeZero && w.count[r]! === 0) continue;
    const v = w.value(metric, r);
    if (!Number.isFinite(v)) continue;
    rows.push(r);
    values.push(v);
  }
  return { rows, values };
}

function median(sorted: Float64Array | number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = n >> 1;
  return n % 2 === 1 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
}

/** Linear-interpolated quantile (numpy's default) of sorted values. */
export function quantile(sorted: Float64Array | number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface OutlierOptions {
  metric?: WindowMetric;
  /** |robust z| above this is an outlier (default 3.5, Iglewicz and Hoaglin). */
  threshold?: number;
  /** Also take dimensions without events in the window into the population (default false). */
  includeZero?: boolean;
  /** Fewer participating dimensions than this: no verdict (default 5). */
  minDimensions?: number;
}

/**
 * Outliers among dimensions: the robust (modified) z-score `0.6745 (x − median) / MAD` over the
 * dimensions of the window. When the MAD is 0, the mean absolute deviation × 1.2533 stands in;
 * when that is 0 too, nothing is an outlier.
 */
export class OutlierDetector implements WindowDetector {
  readonly metric: WindowMetric;
  readonly threshold: number;
  readonly includeZero: boolean;
  readonly minDimensions: number;
  constructor(options: OutlierOptions = {}) {
    this.metric = options.metric ?? "count";
    this.threshold = options.threshold ?? 3.5;
    this.includeZero = options.includeZero ?? false;
    this.minDimensions = options.minDimensions ?? 5;
  }

  onWindow(w: ClosedWindow, emit: Emit): void {
    const { rows, values } = dimensionValues(w, this.metric, this.includeZero);
    if (values.length < this.minDimensions) return;
    const sorted = Float64Array.from(values).sort();
    const med = median(sorted);
    const dev = Float64Array.from(values, (v) => Math.abs(v - med)).sort();
    let scale = median(dev) / 0.6745;
    let mad = median(dev);
    if (mad === 0) {
      let s = 0;
      for (const d of dev) s += d;
      mad = s / dev.length;
      scale = mad * 1.2533;
    }
    if (!(scale > 0)) return;
    for (let i = 0; i < values.length; i++) {
      const z = (values[i]! - med) / scale;
      if (Math.abs(z) > this.threshold) emit({ ...header("outlier", w, w.name(rows[i]!)!, values[i]!), metric: this.metric, score: z, median: med, mad });
    }
  }
}

export interface ClassifierOptions {
  metric?: WindowMetric;
  /** Quantile cut points, ascending (default 0.5, 0.9, 0.99): class i = number of cuts ≤ value. */
  quantiles?: number[];
  /** Emit only dimensions whose class changed since their previous window (default true). */
  changesOnly?: boolean;
  includeZero?: boolean;
}

/** Classification by value: each dimension gets the index of its quantile bucket among the window's dimensions. */
export class QuantileClassifier implements WindowDetector {
  readonly metric: WindowMetric;
  readonly quantiles: number[];
  readonly changesOnly: boolean;
  readonly includeZero: boolean;
  private readonly last = new Map<string, number>();
  constructor(options: ClassifierOptions = {}) {
    this.metric = options.metric ?? "count";
    this.quantiles = options.quantiles ?? [0.5, 0.9, 0.99];
    this.changesOnly = options.changesOnly ?? true;
    this.includeZero = options.includeZero ?? false;
  }

  onWindow(w: ClosedWindow, emit: Emit): void {
    const { rows, values } = dimensionValues(w, this.metric, this.includeZero);
    if (values.length === 0) return;
    const sorted = Float64Array.from(values).sort();
    const cuts = this.quantiles.map((q) => quantile(sorted, q));
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      let cls = 0;
      while (cls < cuts.length && v > cuts[cls]!) cls++;
      const name = w.name(rows[i]!)!;
      const before = this.last.get(name);
      this.last.set(name, cls);
      if (this.changesOnly && before === cls) continue;
      emit({ ...header("classification", w, name, v), metric: this.metric, class: cls, previous_class: before ?? null, cuts });
    }
  }

  onDimensionClosed(name: string): void {
    this.last.delete(name);
  }
}

export interface DropToZeroOptions {
  /** Windows in a row without events before a drop is reported (default 1). */
  windows?: number;
}

/** Drop to zero: a dimension that had traffic and then has none for N consecutive windows; reported once per drop. */
export class DropToZeroDetector implements WindowDetector {
  readonly windows: number;
  private readonly zeroRun = new Map<string, number>();
  private readonly lastValue = new Map<string, number>();
  constructor(options: DropToZeroOptions = {}) {
    this.windows = options.windows ?? 1;
  }

  onWindow(w: ClosedWindow, emit: Emit): void {
    for (let r = 0; r < w.rows; r++) {
      const name = w.name(r);
      if (name === undefined) continue;
      const n = w.count[r]!;
      if (n > 0) {
        this.zeroRun.set(name, 0);
        this.lastValue.set(name, n);
        continue;
      }
      const run = this.zeroRun.get(name);
      if (run === undefined) continue; // never had traffic
      this.zeroRun.set(name, run + 1);
      if (run + 1 === this.windows) emit({ ...header("drop_to_zero", w, name, 0), windows: this.windows, last_value: this.lastValue.get(name) ?? 0 });
    }
  }

  onDimensionClosed(name: string): void {
    this.zeroRun.delete(name);
    this.lastValue.delete(name);
  }
}

export interface ThresholdOptions {
  metric?: WindowMetric;
  lower?: number;
  upper?: number;
}

/** Threshold trigger: a dimension whose window value is above `upper` or below `lower`. */
export class ThresholdDetector implements WindowDetector {
  readonly metric: WindowMetric;
  readonly lower: number;
  readonly upper: number;
  constructor(options: ThresholdOptions = {}) {
    this.metric = options.metric ?? "count";
    this.lower = options.lower ?? -Infinity;
    this.upper = options.upper ?? Infinity;
    if (this.lower === -Infinity && this.upper === Infinity) throw new Error("ThresholdDetector needs a lower or an upper bound");
  }

  onWindow(w: ClosedWindow, emit: Emit): void {
    for (let r = 0; r < w.rows; r++) {
      const name = w.name(r);
      if (name === undefined) continue;
      const v = w.value(this.metric, r);
      if (!Number.isFinite(v)) continue;
      if (v > this.upper) emit({ ...header("threshold", w, name, v), metric: this.metric, bound: "upper", limit: this.upper });
      else if (v < this.lower) emit({ ...header("threshold", w, name, v), metric: this.metric, bound: "lower", limit: this.lower });
    }
  }
}
