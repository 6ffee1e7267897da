import { ConfigError, type Application, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { HyperLogLog } from "../matrix/HyperLogLog.js";
import type { ClosedWindow } from "./ClosedWindow.js";
import { TimeWindowAnalyzer, type TimeWindowAnalyzerOptions } from "./TimeWindowAnalyzer.js";

const CONFIG = {
  distinct_attr: { type: "string", default: "", doc: "Event field whose distinct values are counted per dimension and window", required: true },
  precision: { type: "int", default: 11, doc: "HyperLogLog precision p: 2^p registers per sketch (4 … 18; 11 = BSPump's m = 2048, standard error 1.04/√m = 2.3 %; 14: 0.81 %)" },
} satisfies ConfigSpec;

/**
 * Distinct values per dimension and time window, with HyperLogLog (BSPump's
 * `bspump.aggregation.HyperLogLog`, whose registers BSPump meant to keep in the cells of a
 * TimeWindowMatrix, as in its `bspump-hyperloglog.py` example): a TimeWindowAnalyzer that also
 * keeps, per dimension (row) and time column, a sketch of the values of `distinct_attr` — e.g.
 * distinct users per server per minute. Each closed window reports `distinct` beside `count`
 * (a sliding window merges its columns' sketches: the union, each value counted once).
 *
 * Memory: 2^precision bytes per dimension and column (precision 11 = BSPump's m = 2048: 2 KiB;
 * 1,000 dimensions × 15 columns = 30 MB), allocated as one Uint8Array per column. An event without
 * `distinct_attr` is bad input (counted as `bad_value`, a pipeline warning, dead-lettered when the
 * pipeline has a target) and is not counted at all. The sketches are not persisted.
 */
export class CardinalityAnalyzer extends TimeWindowAnalyzer {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & TimeWindowAnalyzer["config"];

  readonly hll: HyperLogLog;
  private readonly distinctAttr: string;
  /** Per physical column: the sketches of every row, `m` registers each. */
  private regs: Uint8Array[] = [];
  /** Rows the sketch arrays hold. */
  private regRows = 0;
  private scratch: Uint8Array;

  constructor(app: Application, pipeline: Pipeline, options: TimeWindowAnalyzerOptions = {}) {
    super(app, pipeline, options);
    const where = `[pipeline:${pipeline.id}:${this.id}]`;
    this.distinctAttr = this.config.getString("distinct_attr");
    const p = this.config.getInt("precision");
    if (!(p >= 4 && p <= 18)) throw new ConfigError(`${where} precision must be 4 … 18, got ${p}`);
    if (this.config.getBool("persistent")) throw new ConfigError(`${where} persistent: the HyperLogLog sketches are not persisted; use a TimeWindowAnalyzer for a persistent count`);
    this.hll = new HyperLogLog(p);
    this.scratch = this.hll.allocate();
    for (let c = 0; c < this.columns; c++) this.regs.push(new Uint8Array(0));
    const m = this.matrix;
    // A column leaving the window is reused as the newest: its sketches start empty.
    m.pubsub.subscribe("TimeWindowMatrix.column_added!", () => this.regs[m.physical(this.columns - 1)]!.fill(0));
    // Compaction renumbers the rows.
    m.pubsub.subscribe("Matrix flushed!", (_msg, saved) => this.remap(saved as Map<number, number>));
  }

  override predicate(_context: EventContext, event: unknown): boolean {
    if (typeof event !== "object" || event === null) return true; // the base reports it
    const v = (event as Record<string, unknown>)[this.distinctAttr];
    if (v === undefined || v === null || v === "") {
      this.badInput("bad_value", `event has no '${this.distinctAttr}' to count`);
      return false;
    }
    return true;
  }

  protected override onCell(event: Record<string, unknown>, row: number, pc: number): void {
    if (row >= this.regRows) this.grow(row + 1);
    const v = event[this.distinctAttr];
    this.hll.add(typeof v === "string" || typeof v === "number" ? v : typeof v === "object" ? JSON.stringify(v) : String(v), this.regs[pc]!, row * this.hll.m);
  }

  protected override newRow(key: string, ts: number): number {
    const row = super.newRow(key, ts);
    // The row may have belonged to a dimension closed as idle.
    if (row < this.regRows) {
      const m = this.hll.m;
      for (const r of this.regs) r.fill(0, row * m, (row + 1) * m);
    }
    return row;
  }

  /** Estimated distinct values of a row in a closed window. */
  distinctOf(view: ClosedWindow, row: number): number {
    if (row >= this.regRows) return 0;
    const hll = this.hll;
    const off = row * hll.m;
    const m = this.matrix;
    const res = this.resolution;
    const lastCol = Math.round((view.end - res - m.end) / res);
    if (this.windowColumns === 1) return lastCol >= 0 && lastCol < this.columns ? Math.round(hll.count(this.regs[m.physical(lastCol)]!, off)) : 0;
    const s = this.scratch;
    s.fill(0);
    for (let col = lastCol - this.windowColumns + 1; col <= lastCol; col++) {
      if (col >= 0 && col < this.columns) hll.merge(s, this.regs[m.physical(col)]!, 0, off);
    }
    return Math.round(hll.count(s));
  }

  protected override dimensionValues(view: ClosedWindow, row: number): Record<string, number> {
    const out = super.dimensionValues(view, row);
    out.distinct = this.distinctOf(view, row);
    return out;
  }

  protected override extendColumnsEvent(out: Record<string, unknown>, view: ClosedWindow): void {
    const distinct: number[] = [];
    for (let r = 0; r < view.rows; r++) {
      if (view.count[r]! === 0 || this.matrix.getRowName(r) === undefined) continue;
      distinct.push(this.distinctOf(view, r));
    }
    out.distinct = distinct;
  }

  /** Grows every column's sketches to the matrix's capacity (at least `rows`). */
  private grow(rows: number): void {
    const n = Math.max(rows, this.matrix.capacity);
    const m = this.hll.m;
    this.regs = this.regs.map((old) => {
      const next = new Uint8Array(n * m);
      next.set(old);
      return next;
    });
    this.regRows = n;
  }

  private remap(saved: Map<number, number>): void {
    const m = this.hll.m;
    const n = this.matrix.capacity;
    this.regs = this.regs.map((old) => {
      const next = new Uint8Array(n * m);
      for (const [from, to] of saved) if (from < this.regRows) next.set(old.subarray(from * m, (from + 1) * m), to * m);
      return next;
    });
    this.regRows = n;
  }
}
