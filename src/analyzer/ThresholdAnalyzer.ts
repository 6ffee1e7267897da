import { ConfigError, type Application, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { TimeWindowMatrix } from "../matrix/TimeWindowMatrix.js";
import { Analyzer, toNumber, toSeconds, type AnalyzerOptions } from "./Analyzer.js";

function parseBound(raw: string, key: string, where: string): number {
  const s = raw.trim().toLowerCase();
  if (s === "inf" || s === "+inf") return Infinity;
  if (s === "-inf") return -Infinity;
  const n = Number(s);
  if (s === "" || Number.isNaN(n)) throw new ConfigError(`${where} ${key} must be a number, 'inf' or '-inf', got '${raw}'`);
  return n;
}

const CONFIG = {
  analyze_period: { type: "float", default: 300, doc: "Seconds between checks" },
  event_attribute: { type: "string", default: "", doc: "Event field naming the row (e.g. a server)", required: true },
  event_value: { type: "string", default: "", doc: "Event field with the value", required: true },
  timestamp_attr: { type: "string", default: "@timestamp", doc: "Event field with the event time" },
  lower_bound: { type: "string", default: "-inf", doc: "Lower bound ('-inf': none)" },
  upper_bound: { type: "string", default: "inf", doc: "Upper bound ('inf': none)" },
  anomaly_occurrence: { type: "int", default: 1, doc: "Violating cells in a row that raise an alarm" },
  resolution: { type: "float", default: 60, doc: "Seconds per column" },
  columns: { type: "int", default: 15, doc: "Columns kept" },
} satisfies ConfigSpec;

/**
 * BSPump's ThresholdAnalyzer: the cell `[event_attribute, column(@timestamp)]` of a clock-driven
 * TimeWindowMatrix is set to `event_value` (events outside the window are ignored). Every
 * `analyze_period` seconds, rows observed for at least one column shift are checked: cells above
 * `upper_bound` (exceedance), below `lower_bound` (subceedance) or outside both (range). A row with
 * at least `anomaly_occurrence` violating cells raises `alarm()`, which emits an event. A row with
 * no value left in the window is closed at the check and its row reused.
 * (BSPump read `symptom_occurrence` by mistake and mis-built the warm-up mask: both fixed.)
 */
export class ThresholdAnalyzer extends Analyzer {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & Analyzer["config"];

  readonly matrix: TimeWindowMatrix;
  readonly lower: number;
  readonly upper: number;
  readonly occurrence: number;
  private readonly attr: string;
  private readonly valueAttr: string;
  private readonly tsAttr: string;

  constructor(app: Application, pipeline: Pipeline, options: AnalyzerOptions & { matrix?: TimeWindowMatrix } = {}) {
    super(app, pipeline, { ...options, analyzeOnClock: options.analyzeOnClock ?? true });
    const where = `[pipeline:${pipeline.id}:${this.id}]`;
    this.attr = this.config.getString("event_attribute");
    this.valueAttr = this.config.getString("event_value");
    this.tsAttr = this.config.getString("timestamp_attr");
    this.lower = parseBound(this.config.getString("lower_bound"), "lower_bound", where);
    this.upper = parseBound(this.config.getString("upper_bound"), "upper_bound", where);
    if (this.lower === -Infinity && this.upper === Infinity) throw new ConfigError(`${where} set lower_bound, upper_bound or both`);
    this.occurrence = this.config.getInt("anomaly_occurrence");
    this.matrix =
      options.matrix ??
      new TimeWindowMatrix(app, {
        id: `${this.id}Matrix`,
        dtype: [["value", "f8"], ["set", "u1"]],
        config: { resolution: this.config.getFloat("resolution"), columns: this.config.getInt("columns"), clock_driven: true },
      });
    if (!options.matrix) app.pumpServiceOrNull()?.addMatrix(this.matrix);
  }

  override evaluate(_context: EventContext, event: unknown): void {
    if (typeof event !== "object" || event === null) return;
    const e = event as Record<string, unknown>;
    const key = e[this.attr];
    const rawTs = e[this.tsAttr];
    if (key === undefined || key === null || rawTs === undefined) {
      this.badInput(key === undefined || key === null ? "missing_dimension" : "missing_time", `event needs '${this.attr}' and '${this.tsAttr}'`);
      return;
    }
    const ts = toSeconds(rawTs);
    const v = toNumber(e[this.valueAttr]);
    if (!Number.isFinite(ts)) return this.badInput("missing_time", `'${this.tsAttr}' is not a time`);
    if (!Number.isFinite(v)) return this.badInput("bad_value", `'${this.valueAttr}' is not a number`);
    const m = this.matrix;
    const col = m.getColumn(ts);
    if (col < 0) return;
    const row = m.addRow(String(key));
    const pc = m.physical(col);
    m.numeric("value")[pc]![row] = v;
    m.numeric("set")[pc]![row] = 1;
  }

  private violates(v: number): boolean {
    return v > this.upper || v < this.lower;
  }

  override analyze(): void {
    const m = this.matrix;
    const values = m.numeric("value");
    const set = m.numeric("set");
    let empty: string[] | null = null;
    for (const [name, row] of m.index) {
      const hits: number[] = [];
      let observed = false;
      for (let c = 0; c < m.columns; c++) {
        const pc = m.physical(c);
        if (set[pc]![row] !== 1) continue;
        observed = true;
        if (this.violates(values[pc]![row]!)) hits.push(c);
      }
      if (!observed) (empty ??= []).push(name);
      // Warm: observed for at least one shift of the window.
      else if (m.warmingUpOf(row) <= m.columns - 1 && hits.length >= this.occurrence) this.alarm(name, row, hits);
    }
    // A row with no value left in the window is closed and its row reused, so ever-new names
    // (hosts, IPs) do not grow the matrix without bound. BSPump kept them forever.
    if (empty !== null) {
      for (const name of empty) m.closeRow(name);
      this.rowsClosed += empty.length;
    }
  }

  /** Rows closed because no value of theirs was left in the window. */
  rowsClosed = 0;

  /** Called for a row with enough violating cells; emits an event (override to do more). */
  alarm(name: string, row: number, columns: number[]): void {
    const m = this.matrix;
    const values = m.numeric("value");
    const kind = this.lower === -Infinity ? "exceedance" : this.upper === Infinity ? "subceedance" : "range";
    this.emit({
      "@timestamp": this.app.time(),
      type: "threshold",
      analyzer: this.id,
      dimension: name,
      kind,
      count: columns.length,
      violations: columns.map((c) => ({ window_start: m.columnStart(c), window_end: m.columnStart(c) + m.resolution, value: values[m.physical(c)]![row]! })),
    });
  }
}
