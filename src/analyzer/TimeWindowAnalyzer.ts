import { ConfigError, type Application, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import type { TimeWindowMatrix } from "../matrix/TimeWindowMatrix.js";
import { AnalyzerPartitions } from "./analyzerPartitions.js";
import { Analyzer, toNumber, toSeconds, type AnalyzerOptions } from "./Analyzer.js";
import { ClosedWindow, idleDimensions, type WindowColumns, type WindowDetector } from "./ClosedWindow.js";
import { columnsEvent, dimensionEvents, windowEvent, windowMatrix, windowPart } from "./windowParts.js";
import { TIME_WINDOW_CONFIG } from "./timeWindowConfig.js";
import { windowHeatmap } from "./windowHeatmap.js";

export interface TimeWindowAnalyzerOptions extends AnalyzerOptions {
  /** Run on closed windows, in order. */
  detectors?: WindowDetector[];
  /** Use an existing TimeWindowMatrix instead of creating `<id>Matrix`. */
  matrix?: TimeWindowMatrix;
  /** Set on the per-partition parts of a `partitioned` analyzer (AnalyzerPartitions): the partition's name. */
  partition?: string;
}


/**
 * BSPump's TimeWindowAnalyzer with a ready-made evaluation: events are counted (and a value field
 * summed, min'd, max'd) per dimension in a TimeWindowMatrix of `columns` time columns of
 * `resolution` seconds, by event time (`time_source = event`) or by the clock (`clock`).
 *
 * Windows: `tumbling` (one column each) or `sliding` (`window_columns` columns, sliding by one
 * column). A window closes once the newest time seen (the watermark) minus `lateness` passes its
 * end; it is then emitted exactly once (`emit = columns`: one event with every dimension in
 * arrays; `window`: one event with a key per dimension; `dimension`: one event per dimension;
 * `none`) and handed to the detectors. Events older than the closed windows are counted as `late`;
 * events more than `max_future` seconds ahead of the watermark as `future`; both are sent to
 * `late_target` when set, never silently dropped.
 *
 * The per-event path is one Map lookup, index arithmetic and typed-array adds.
 *
 * (~475 lines, over the ~400 of the house rule: evaluate() and the window state it reads on
 * every event — watermark, trigger, the cached column — stay fields of this one class, because
 * moving the window bookkeeping to another object would add an indirection to W2's hot path.
 * What does not touch that state is in ClosedWindow.ts, windowParts.ts and analyzerPartitions.ts.)
 */
export class TimeWindowAnalyzer extends Analyzer {
  static override ConfigDefaults: ConfigSpec = TIME_WINDOW_CONFIG;
  declare readonly config: TypedConfig<typeof TIME_WINDOW_CONFIG> & Analyzer["config"];

  readonly matrix: TimeWindowMatrix;
  /** BSPump's name for the matrix. */
  get TimeWindow(): TimeWindowMatrix {
    return this.matrix;
  }
  readonly resolution: number;
  readonly columns: number;
  readonly windowColumns: number;
  readonly detectors: WindowDetector[];
  /** Newest time seen. */
  watermark = -Infinity;
  /** Every window ending at or before this time has been closed and emitted. */
  closedUpTo = -Infinity;
  late = 0;
  future = 0;
  windowsClosed = 0;
  /** Dimensions closed after `idle_timeout`. */
  dimensionsClosed = 0;
  readonly idleTimeout: number;
  /** `partitioned`: one state per input partition (null: one state). */
  readonly partitions: AnalyzerPartitions<TimeWindowAnalyzer> | null;

  private readonly clockTime: boolean;
  private readonly tsAttr: string;
  private readonly tsMs: boolean;
  private readonly dimAttr: string;
  private readonly valueAttr: string;
  private readonly lateness: number;
  private readonly maxFuture: number;
  private readonly emitMode: string;
  private readonly emitEmpty: boolean;
  private readonly lateTarget: string;
  private started = false;
  private nextClose = Infinity;
  /** See updateTrigger(). */
  private trigger = -Infinity;
  /** The last column an event fell into: [colLo, colHi) at physical index colPc. */
  private colLo = Infinity;
  private colHi = -Infinity;
  private colPc = 0;
  private readonly needsValue: boolean;
  private readonly index: ReadonlyMap<string, number>;
  private readonly cnt: Float64Array[];
  private readonly sumCols: Float64Array[] | null;
  private readonly minCols: Float64Array[] | null;
  private readonly maxCols: Float64Array[] | null;
  private readonly view: ClosedWindow;
  /** The same columns as cnt … maxCols, for ClosedWindow (evaluate() reads the fields above). */
  private readonly columnsOfWindows: WindowColumns;
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly emitBound = (e: Record<string, unknown>): void => this.emit(e);
  private readonly valuesBound = (view: ClosedWindow, row: number): Record<string, number> => this.dimensionValues(view, row);

  constructor(app: Application, pipeline: Pipeline, options: TimeWindowAnalyzerOptions = {}) {
    super(app, pipeline, options);
    const where = `[pipeline:${pipeline.id}:${this.id}]`;
    this.clockTime = this.config.getString("time_source") === "clock";
    this.tsAttr = this.config.getString("timestamp_attr");
    this.tsMs = this.config.getString("timestamp_unit") === "ms";
    this.dimAttr = this.config.getString("dimension_attr");
    this.valueAttr = this.config.getString("value_attr");
    this.lateness = this.config.getFloat("lateness");
    this.maxFuture = this.config.getFloat("max_future");
    this.emitMode = this.config.getString("emit");
    this.emitEmpty = this.config.getBool("emit_empty");
    this.lateTarget = this.config.getString("late_target");
    this.detectors = options.detectors ?? [];
    this.idleTimeout = this.config.getFloat("idle_timeout");
    if (!(this.idleTimeout >= 0)) throw new ConfigError(`${where} idle_timeout must be ≥ 0`);

    const { matrix, aggs } = windowMatrix(app, this.id, this.config, options.matrix, this.valueAttr, where);
    this.matrix = matrix;
    const m = this.matrix;
    this.resolution = m.resolution;
    this.columns = m.columns;
    this.windowColumns = this.config.getString("window_type") === "sliding" ? this.config.getInt("window_columns") : 1;
    if (this.windowColumns < 1 || this.windowColumns > this.columns - 1) throw new ConfigError(`${where} window_columns must be between 1 and columns − 1 (${this.columns - 1})`);
    if (this.lateness < 0 || this.lateness + this.windowColumns * this.resolution > (this.columns - 1) * this.resolution) {
      throw new ConfigError(`${where} lateness + window length must fit in columns − 1 columns (${(this.columns - 1) * this.resolution} s): raise 'columns'`);
    }
    const has = (f: string) => m.fields.some((x) => x.name === f);
    if (!has("count")) throw new ConfigError(`${where} the matrix needs a 'count' field`);
    this.index = m.index;
    this.cnt = m.numeric("count");
    this.sumCols = aggs.has("sum") && has("sum") ? m.numeric("sum") : null;
    this.minCols = aggs.has("min") && has("min") ? m.numeric("min") : null;
    this.maxCols = aggs.has("max") && has("max") ? m.numeric("max") : null;
    this.needsValue = this.sumCols !== null || this.minCols !== null || this.maxCols !== null;
    this.columnsOfWindows = { count: this.cnt, sum: this.sumCols, min: this.minCols, max: this.maxCols };
    this.view = new ClosedWindow(this);
    m.beforeSave = () => {
      m.meta.watermark = Number.isFinite(this.watermark) ? this.watermark : null;
      m.meta.closedUpTo = Number.isFinite(this.closedUpTo) ? this.closedUpTo : null;
    };
    if (typeof m.meta.watermark === "number" && typeof m.meta.closedUpTo === "number") {
      this.watermark = m.meta.watermark;
      this.closedUpTo = m.meta.closedUpTo;
      this.nextClose = this.closedUpTo + this.resolution;
      this.started = true;
      // State saved before lastActive was kept: the rows count as active now.
      for (let r = 0; r < m.capacity; r++) if (m.getRowName(r) !== undefined && m.lastActive[r] === 0) m.lastActive[r] = this.closedUpTo;
    }
    // A subclass may keep state outside the matrix (CardinalityAnalyzer's sketches) or need more than options to be made.
    if (this.config.getBool("partitioned") && new.target !== TimeWindowAnalyzer) throw new ConfigError(`${this.config.where("partitioned")}: not supported by ${new.target.name} (TimeWindowAnalyzer and SessionAnalyzer only)`);
    this.partitions = this.config.getBool("partitioned") && options.partition === undefined ? new AnalyzerPartitions<TimeWindowAnalyzer>(this, (name, state) => windowPart(this, name, state, (r) => this.emitOfPart(r)), (part) => part.matrix) : null;
  }

  /** Partitioned: the event goes to its partition's part; a result it emits holds the event's receipt (settled when delivered). */
  private processPart(context: EventContext, event: unknown): unknown {
    const part = this.partitions!.partFor(context);
    this.resultContext = context;
    try {
      part.process(context, event);
    } finally {
      this.resultContext = null;
    }
    return event;
  }

  override process(context: EventContext, event: unknown): unknown {
    if (this.partitions !== null) return this.processPart(context, event);
    // The default predicate is always true; a subclass that overrides it is honoured.
    if (this.hasPredicate && !this.predicate(context, event)) return event;
    this.evaluate(context, event);
    return event;
  }

  private readonly hasPredicate = Object.getPrototypeOf(this).predicate !== TimeWindowAnalyzer.prototype.predicate;
  private readonly hasCellHook = Object.getPrototypeOf(this).onCell !== TimeWindowAnalyzer.prototype.onCell;

  /**
   * Hook for subclasses that keep more per cell (CardinalityAnalyzer: a HyperLogLog sketch): called
   * for every stored event with its row and physical column, before the count is added. Only
   * called when a subclass overrides it (one boolean test on the hot path otherwise).
   */
  protected onCell(_event: Record<string, unknown>, _row: number, _pc: number): void {}

  override evaluate(_context: EventContext, event: unknown): void {
    // The hot path: property reads, one Map get, compares and typed-array adds. Everything rare
    // (bad input, a new dimension, closing windows, advancing the matrix, late and future events,
    // an event outside the cached column) is in its own method, so that this one stays small,
    // is inlined into process() and is not deoptimized by the rare paths.
    if (typeof event !== "object" || event === null) return this.badInput("missing_dimension", "event is not an object");
    const e = event as Record<string, unknown>;
    let ts: number;
    if (this.clockTime) ts = this.app.time();
    else {
      const raw = e[this.tsAttr];
      ts = typeof raw === "number" && !this.tsMs ? raw : toSeconds(raw, this.tsMs);
      // Finite: NaN and ±Infinity give NaN here.
      if (ts - ts !== 0) return this.badInput("missing_time", `event has no time in '${this.tsAttr}'`);
    }
    const dim = e[this.dimAttr];
    let key: string;
    if (typeof dim === "string" && dim !== "") key = dim;
    else if (dim === undefined || dim === null || dim === "") return this.badInput("missing_dimension", `event has no dimension in '${this.dimAttr}'`);
    else key = String(dim);
    let v = 0;
    if (this.needsValue) {
      const raw = e[this.valueAttr];
      v = typeof raw === "number" ? raw : toNumber(raw);
      if (v - v !== 0) return this.badInput("bad_value", `'${this.valueAttr}' is not a number`);
    }
    if (ts > this.watermark) {
      // Rarely: something to close or advance, or a future event.
      if (ts >= this.trigger || ts > this.watermark + this.maxFuture) {
        if (!this.moveWatermark(ts, event)) return;
      } else this.watermark = ts;
    }
    let pc: number;
    if (ts >= this.colLo && ts < this.colHi && ts >= this.closedUpTo) pc = this.colPc;
    else {
      pc = this.columnOf(ts, event);
      if (pc < 0) return;
    }
    let row = this.index.get(key);
    if (row === undefined) row = this.newRow(key, ts);
    if (this.hasCellHook) this.onCell(e, row, pc);
    const c = this.cnt[pc]!;
    const n = c[row]!;
    c[row] = n + 1;
    const sums = this.sumCols;
    if (sums !== null) sums[pc]![row]! += v;
    if (this.minCols !== null) {
      const a = this.minCols[pc]!;
      if (n === 0 || v < a[row]!) a[row] = v;
    }
    if (this.maxCols !== null) {
      const a = this.maxCols[pc]!;
      if (n === 0 || v > a[row]!) a[row] = v;
    }
  }

  /**
   * The newest time moves to `ts` (the event's time, newer than the watermark): counts a future
   * event (returns false: not stored), places the window on the first event, closes the windows
   * that `ts` passed, advances the matrix.
   */
  private moveWatermark(ts: number, event: unknown): boolean {
    if (!this.started) this.begin(ts);
    else {
      if (ts > this.watermark + this.maxFuture) {
        this.future++;
        this.counter.add("future");
        if (this.lateTarget !== "") this.routeTo(this.lateTarget, event);
        return false;
      }
      this.watermark = ts;
      if (ts - this.lateness >= this.nextClose) this.closeUpTo(ts - this.lateness);
      if (ts >= this.matrix.start) this.advanceTo(ts);
    }
    this.updateTrigger();
    return true;
  }

  /**
   * The time from which an event's time makes the hot path call moveWatermark (a window to close
   * or a column to add); kept a little below the exact bounds, which moveWatermark checks. The
   * window only moves forward, so a stale value is only too low (never skips a close).
   */
  private updateTrigger(): void {
    const t = Math.min(this.nextClose + this.lateness, this.matrix.start);
    this.trigger = t - Math.abs(t) * 1e-12;
  }

  /**
   * Physical column of `ts`, caching its bounds for the next events; -1 when it is late (counted,
   * routed to `late_target`).
   */
  private columnOf(ts: number, event: unknown): number {
    const m = this.matrix;
    if (ts < this.closedUpTo || ts < m.end) {
      this.late++;
      this.counter.add("late");
      if (this.lateTarget !== "") this.routeTo(this.lateTarget, event);
      return -1;
    }
    const res = this.resolution;
    let col = Math.floor((ts - m.end) / res);
    // Bounds by comparison (the division may round up right below a boundary).
    if (m.end + col * res > ts) col--;
    else if (m.end + (col + 1) * res <= ts) col++;
    if (col >= this.columns) {
      // Only when the matrix is shared and was not advanced for this analyzer's newest time.
      this.advanceTo(ts);
      return this.columnOf(ts, event);
    }
    const pc = m.physical(col);
    // A column keeps its physical index while the window advances (the ring turns), and a time
    // range that dropped out of the matrix is below m.end, so the cache never goes wrong.
    this.colLo = m.end + col * res;
    this.colHi = this.colLo + res;
    this.colPc = pc;
    return pc;
  }

  /** Adds the row of a new dimension (a subclass resets what it keeps per row). */
  protected newRow(key: string, ts: number): number {
    const m = this.matrix;
    const row = m.addRow(key);
    m.lastActive[row] = Math.max(ts, this.closedUpTo);
    return row;
  }

  /** Places the window on the first time seen. */
  private begin(ts: number): void {
    const m = this.matrix;
    const res = this.resolution;
    if (m.openRows === 0) {
      m.start = (1 + Math.floor(ts / res)) * res;
      m.end = m.start - res * this.columns;
    }
    this.watermark = ts;
    this.closedUpTo = Math.max(m.end, Math.floor((ts - this.lateness) / res) * res);
    this.nextClose = this.closedUpTo + res;
    this.started = true;
  }

  /** Advances the matrix until `ts` is inside it, closing first every window that needs a column about to drop. */
  private advanceTo(ts: number): void {
    const m = this.matrix;
    const res = this.resolution;
    if (ts - m.start > (this.columns + this.windowColumns + 1) * res) {
      // A jump past the whole matrix: close what holds data, then skip ahead.
      this.closeUpTo(m.start + (this.windowColumns - 1) * res);
      m.advance(ts, 0);
      const aligned = Math.floor((ts - this.lateness) / res) * res;
      if (aligned > this.closedUpTo) {
        this.closedUpTo = Math.max(aligned, m.end);
        this.nextClose = this.closedUpTo + res;
      }
      return;
    }
    while (ts >= m.start) {
      const need = m.end + this.windowColumns * res;
      if (this.closedUpTo < need) this.closeUpTo(need);
      m.addColumn();
    }
  }

  /** Closes (and emits) every window whose end is ≤ t. */
  closeUpTo(t: number): void {
    const res = this.resolution;
    if ((t - this.nextClose) / res > this.columns + this.windowColumns + 1) {
      const lastData = this.matrix.start + (this.windowColumns - 1) * res;
      while (this.nextClose <= lastData) this.closeOne();
      const aligned = Math.floor(t / res) * res;
      if (aligned > this.closedUpTo) {
        this.closedUpTo = aligned;
        this.nextClose = aligned + res;
      }
      return;
    }
    while (this.nextClose <= t) this.closeOne();
  }

  private closeOne(): void {
    const end = this.nextClose;
    this.closeWindow(end);
    this.closedUpTo = end;
    this.nextClose = end + this.resolution;
  }

  private closeWindow(end: number): void {
    const m = this.matrix;
    const res = this.resolution;
    const w = this.windowColumns;
    const view = this.view;
    const rows = m.capacity;
    const lastCol = Math.round((end - res - m.end) / res);
    view.start = end - w * res;
    view.end = end;
    view.rows = rows;
    if (w === 1 && lastCol >= 0 && lastCol < this.columns) view.pointAt(this.columnsOfWindows, m.physical(lastCol));
    else view.sumOf(this.columnsOfWindows, m, lastCol - w + 1, lastCol, this.columns, rows);
    this.windowsClosed++;
    this.emitWindow(view);
    for (const d of this.detectors) d.onWindow(view, this.emitBound);
    if (this.idleTimeout > 0) this.closeIdle(view);
  }

  /**
   * After a window closed: rows with data in it were active at its end; rows idle for
   * `idle_timeout` and without data in any column a later window reads are closed (zeroed, freed
   * for the next new dimension, forgotten by the index and the detectors).
   */
  private closeIdle(view: ClosedWindow): void {
    const m = this.matrix;
    // The first logical column that a window closing after this one reads.
    const from = Math.max(0, Math.round((view.end - (this.windowColumns - 1) * this.resolution - m.end) / this.resolution));
    const idle = idleDimensions(view, m, this.cnt, from, this.columns, view.end - this.idleTimeout);
    if (idle === null) return;
    for (const name of idle) {
      m.closeRow(name);
      for (const d of this.detectors) d.onDimensionClosed?.(name);
    }
    this.dimensionsClosed += idle.length;
    this.counter.add("dimensions_closed", idle.length);
  }

  /** The values of one dimension in a closed window, as emitted (fixed shapes, so V8 keeps them fast). */
  protected dimensionValues(view: ClosedWindow, row: number): Record<string, number> {
    const n = view.count[row]!;
    const sum = view.sum;
    if (sum === null) return { count: n };
    const s = sum[row]!;
    if (view.min !== null && view.max !== null) return { count: n, sum: s, avg: s / n, min: view.min[row]!, max: view.max[row]! };
    const out: Record<string, number> = { count: n, sum: s, avg: s / n };
    if (view.min) out.min = view.min[row]!;
    if (view.max) out.max = view.max[row]!;
    return out;
  }

  /** Hook for subclasses: adds arrays to an `emit = columns` event (one value per name in `out.dimensions`, in order). */
  protected extendColumnsEvent(_out: Record<string, unknown>, _view: ClosedWindow): void {}

  /** Emits a closed window (override to shape the result differently). */
  protected emitWindow(view: ClosedWindow): void {
    if (this.emitMode === "none") return;
    const m = this.matrix;
    const base = { "@timestamp": view.end, analyzer: this.id, window_start: view.start, window_end: view.end };
    if (this.emitMode === "columns") {
      const out = columnsEvent(view, m, base, this.emitEmpty);
      if (out !== null) {
        this.extendColumnsEvent(out, view);
        this.emit(out);
      }
      return;
    }
    if (this.emitMode === "dimension") return dimensionEvents(view, m, base, this.valuesBound, this.emitBound);
    const out = windowEvent(view, m, base, this.emitEmpty, this.valuesBound);
    if (out !== null) this.emit(out);
  }

  /** In clock mode: moves time to now, closing windows that have passed. Runs every resolution/4 s. */
  tick(): void {
    if (this.partitions !== null) {
      for (const [, part] of this.partitions.entries()) part.tick();
      return;
    }
    const now = this.app.time();
    if (!this.started) this.begin(now);
    if (now > this.watermark) this.watermark = now;
    this.closeUpTo(this.watermark - this.lateness);
    if (this.watermark >= this.matrix.start) this.advanceTo(this.watermark);
  }

  /** Closes every window up to the end of the column holding the newest time (flush on stop). */
  flushWindows(): void {
    if (!this.started) return;
    const res = this.resolution;
    this.closeUpTo(Math.floor(this.watermark / res) * res + res);
  }

  override start(): void {
    super.start();
    this.partitions?.attach();
    if (this.clockTime && this.tickTimer === null) this.tickTimer = setInterval(() => this.tick(), (this.resolution / 4) * 1000);
  }

  /** The web API's view: counters, and the window's busiest dimensions per column (the dashboard's heatmap). */
  override describe(): Record<string, unknown> {
    return { ...super.describe(), Late: this.late, Future: this.future, WindowsClosed: this.windowsClosed, Heatmap: windowHeatmap(this.matrix, this.closedUpTo) };
  }

  protected override onStop(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    // Partitioned: the open windows stay in the partitions' checkpoints, to go on where they are read next.
    if (this.partitions === null && this.config.getBool("flush_on_stop")) this.flushWindows();
  }
}
