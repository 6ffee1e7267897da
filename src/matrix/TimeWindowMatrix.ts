import { ConfigError, type Application, type Counter, type ConfigSpec, type TypedConfig } from "../core/index.js";
import type { MatrixOptions } from "./Matrix.js";
import { NamedMatrix } from "./NamedMatrix.js";

export interface TimeWindowMatrixOptions extends MatrixOptions {
  /** Seconds since the epoch; the window ends at the next resolution boundary after it (default now). */
  startTime?: number;
}

const CONFIG = {
  resolution: { type: "float", default: 60, doc: "Width of one time column, in seconds" },
  columns: { type: "int", default: 15, doc: "Number of time columns kept" },
  clock_driven: { type: "bool", default: false, doc: "Advance the window with the application clock (every resolution/4 seconds)" },
} satisfies ConfigSpec;

/**
 * Dimensions (named rows) × time columns (BSPump's TimeWindowMatrix). Logical column 0 is the
 * oldest slot, `columns − 1` the newest; each column is `resolution` seconds wide. The window
 * covers `[end, start)`. Columns are a ring of Float64Arrays, so advancing the window zeroes one
 * column instead of shifting the whole array (new columns are 0, not NaN: BSPump [BUG]).
 */
export class TimeWindowMatrix extends NamedMatrix {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & NamedMatrix["config"];

  readonly resolution: number;
  readonly columns: number;
  readonly clockDriven: boolean;
  /** Exclusive upper bound of the newest column. */
  start: number;
  /** Inclusive lower bound of the oldest column. */
  end: number;
  /** Physical index of logical column 0 (the oldest). */
  head = 0;
  /** Columns added so far (addColumn), the clock of the warm-up counts. */
  private shifts = 0;
  /** Per row: the value of `shifts` at which the row has been observed for a full window (so that addColumn is O(1), not O(rows)). */
  private warmAt = new Float64Array(0);
  /**
   * Per row: the owner's time of the row's last activity (TimeWindowAnalyzer: the end of the last
   * closed window with data, or the time the row was added), used to close idle rows. 0 when free.
   */
  lastActive = new Float64Array(0);
  readonly earlyLate: Counter;
  private timer: NodeJS.Timeout | null = null;

  constructor(app: Application, options: TimeWindowMatrixOptions = {}) {
    const columns = TimeWindowMatrix.peekColumns(app, options);
    super(app, options, columns);
    this.columns = columns;
    this.resolution = this.config.getFloat("resolution");
    if (!(this.resolution > 0)) throw new ConfigError(`[matrix:${this.id}] resolution must be > 0`);
    this.clockDriven = this.config.getBool("clock_driven");
    const t0 = options.startTime ?? app.time();
    this.start = (1 + Math.floor(t0 / this.resolution)) * this.resolution;
    this.end = this.start - this.resolution * this.columns;
    this.earlyLate = app.metrics.createCounter("EarlyLateEventCounter", { matrix: this.id }, ["events.early", "events.late"]);
    if (this.clockDriven) {
      const begin = () => {
        this.timer ??= setInterval(() => this.advance(this.app.time(), 0.25), (this.resolution / 4) * 1000);
      };
      if (app.isRunning) begin();
      else app.pubsub.subscribe("Application.run!", begin);
      app.pubsub.subscribe("Application.stop!", () => {
        if (this.timer) clearInterval(this.timer);
        this.timer = null;
      });
    }
    if (new.target === TimeWindowMatrix && this.restore() && this.clockDriven) this.advance(app.time(), 0.25);
  }

  /** The column count must be known before the base class allocates the cells. */
  private static peekColumns(app: Application, options: TimeWindowMatrixOptions): number {
    const fromOptions = options.config?.columns;
    const raw = fromOptions ?? app.config.get(`matrix:${options.id ?? "TimeWindowMatrix"}`, "columns") ?? 15;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`[matrix:${options.id ?? "TimeWindowMatrix"}] columns must be a positive integer, got ${String(raw)}`);
    return n;
  }

  /** Physical cell index of a logical column. */
  physical(column: number): number {
    const p = this.head + column;
    return p >= this.columns ? p - this.columns : p;
  }

  /** Start time of a logical column. */
  columnStart(column: number): number {
    return this.end + column * this.resolution;
  }

  /**
   * Logical column of `ts`, or -1 when it is outside the window (counted as late when before it,
   * early when at or after `start`), as BSPump's get_column.
   */
  getColumn(ts: number): number {
    if (ts < this.end) {
      this.earlyLate.values["events.late"]!++;
      return -1;
    }
    if (ts >= this.start) {
      this.earlyLate.values["events.early"]!++;
      return -1;
    }
    return Math.floor((ts - this.end) / this.resolution);
  }

  override addRow(name?: string): number {
    const known = name === undefined ? undefined : this.getRowIndex(name);
    if (known !== undefined) return known;
    const row = super.addRow(name);
    this.warmAt[row] = this.shifts + this.columns;
    return row;
  }

  override closeRow(name: string, clear = true): boolean {
    const row = this.getRowIndex(name);
    if (row !== undefined) {
      this.warmAt[row] = 0;
      this.lastActive[row] = 0;
    }
    return super.closeRow(name, clear);
  }

  /** BSPump's WarmingUpCount of a row: how many more column shifts until it has been observed for a full window (0: warm). */
  warmingUpOf(row: number): number {
    return Math.max(0, this.warmAt[row]! - this.shifts);
  }

  /** True when the row has been observed for at least one full window. */
  isWarm(row: number): boolean {
    return this.warmAt[row]! <= this.shifts;
  }

  /** The warming-up counts of all rows (a copy; warmingUpOf(row) reads one). */
  get warmingUp(): Int32Array {
    const out = new Int32Array(this.capacity);
    for (let r = 0; r < this.capacity; r++) out[r] = this.warmingUpOf(r);
    return out;
  }

  /** Moves the window one column forward: the oldest column is zeroed and becomes the newest. */
  addColumn(): void {
    this.clearCell(this.head);
    this.head = this.head + 1 === this.columns ? 0 : this.head + 1;
    this.start += this.resolution;
    this.end += this.resolution;
    this.shifts++;
    if (this.pubsub.hasSubscribers("TimeWindowMatrix.column_added!")) this.pubsub.publish("TimeWindowMatrix.column_added!", this);
  }

  /**
   * Adds columns while `(start − target)/resolution ≤ lead` (BSPump uses a lead of 0.25; 0 means
   * "until target falls inside the window"). Returns the number of columns added.
   */
  advance(target: number, lead = 0.25): number {
    let added = 0;
    const limit = lead * this.resolution;
    // A jump of more than a whole window: every column is zeroed anyway, so skip ahead.
    if (target - this.start > (this.columns + 1) * this.resolution) {
      const skip = Math.floor((target - this.start) / this.resolution) - this.columns;
      this.start += skip * this.resolution;
      this.end += skip * this.resolution;
      added += skip;
    }
    while (this.start - target <= limit) {
      this.addColumn();
      added++;
    }
    return added;
  }

  protected override onGrow(capacity: number): void {
    super.onGrow(capacity);
    const next = new Float64Array(capacity);
    next.set(this.warmAt.subarray(0, Math.min(capacity, this.warmAt.length)));
    this.warmAt = next;
    const last = new Float64Array(capacity);
    last.set(this.lastActive.subarray(0, Math.min(capacity, this.lastActive.length)));
    this.lastActive = last;
  }

  protected override onFlush(saved: Map<number, number>, capacity: number): void {
    super.onFlush(saved, capacity);
    const next = new Float64Array(capacity);
    const last = new Float64Array(capacity);
    for (const [from, to] of saved) {
      next[to] = this.warmAt[from]!;
      last[to] = this.lastActive[from]!;
    }
    this.warmAt = next;
    this.lastActive = last;
  }

  protected override persistExtra(): Record<string, unknown> {
    return {
      ...super.persistExtra(),
      time: { resolution: this.resolution, columns: this.columns, start: this.start, end: this.end, head: this.head },
      warmingUp: Array.from(this.warmingUp.subarray(0, this.capacity)),
      lastActive: Array.from(this.lastActive.subarray(0, this.capacity)),
    };
  }

  protected override restoreExtra(extra: Record<string, unknown>): void {
    super.restoreExtra(extra);
    const time = extra.time as { resolution: number; columns: number; start: number; end: number; head: number };
    if (time.resolution !== this.resolution || time.columns !== this.columns) {
      throw new ConfigError(`[matrix:${this.id}] persisted state has resolution ${time.resolution} and ${time.columns} columns; configured ${this.resolution} and ${this.columns}`);
    }
    this.start = time.start;
    this.end = time.end;
    this.head = time.head;
    const wu = (extra.warmingUp as number[] | undefined) ?? [];
    this.warmAt = new Float64Array(this.capacity);
    wu.forEach((v, i) => (this.warmAt[i] = this.shifts + v));
    const last = (extra.lastActive as number[] | undefined) ?? [];
    this.lastActive = new Float64Array(this.capacity);
    last.forEach((v, i) => (this.lastActive[i] = v));
  }

  override serialize(): Record<string, unknown> {
    return { ...super.serialize(), TimeConfig: { Resolution: this.resolution, Columns: this.columns, Start: this.start, End: this.end, Head: this.head } };
  }
}
