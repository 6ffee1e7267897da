import type { Application, ConfigSpec, TypedConfig, EventContext, Gauge, Pipeline } from "../core/index.js";
import { Analyzer, toSeconds, type AnalyzerOptions } from "./Analyzer.js";

const CONFIG = {
  analyze_period: { type: "float", default: 300, doc: "Seconds between analyses" },
  history_size: { type: "int", default: 100, doc: "Differences kept (the oldest are dropped)" },
  sparse_count: { type: "int", default: 1, doc: "Take every Nth event with a time" },
  timestamp_attr: { type: "string", default: "@timestamp", doc: "Event field with the event time" },
  timestamp_unit: { type: "string", default: "s", doc: "Unit of numeric timestamps", choices: ["s", "ms"] },
} satisfies ConfigSpec;

/**
 * BSPump's TimeDriftAnalyzer: how far event time lags behind now. Every `sparse_count`-th event
 * with a time contributes `app.time() − event time` to a history of at most `history_size`
 * differences (negative ones are only counted). Every `analyze_period` seconds, `analyze()` sets
 * the gauge `timedrift` (tag `pipeline`) to avg, median, stddev (population), min and max of the
 * history (zeros when empty), emits the same as an event, and clears the history.
 */
export class TimeDriftAnalyzer extends Analyzer {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & Analyzer["config"];

  readonly gauge: Gauge;
  private readonly history: Float64Array;
  private head = 0;
  private size = 0;
  private seen = 0;
  private readonly sparse: number;
  private readonly tsAttr: string;
  private readonly tsMs: boolean;
  private pendingTs = NaN;
  positive = 0;
  negative = 0;

  constructor(app: Application, pipeline: Pipeline, options: AnalyzerOptions = {}) {
    super(app, pipeline, { ...options, analyzeOnClock: true });
    this.history = new Float64Array(Math.max(1, this.config.getInt("history_size")));
    this.sparse = Math.max(1, this.config.getInt("sparse_count"));
    this.tsAttr = this.config.getString("timestamp_attr");
    this.tsMs = this.config.getString("timestamp_unit") === "ms";
    this.gauge = app.metrics.createGauge("timedrift", { pipeline: pipeline.id }, "Event time lag behind now, in seconds");
    for (const f of ["avg", "median", "stddev", "min", "max"]) this.gauge.set(f, 0);
  }

  override predicate(_context: EventContext, event: unknown): boolean {
    if (typeof event !== "object" || event === null) return false;
    const raw = (event as Record<string, unknown>)[this.tsAttr];
    if (raw === undefined) return false;
    const ts = toSeconds(raw, this.tsMs);
    if (!Number.isFinite(ts)) {
      this.badInput("missing_time", `'${this.tsAttr}' is not a time`);
      return false;
    }
    if (++this.seen % this.sparse !== 0) return false;
    this.pendingTs = ts;
    return true;
  }

  override evaluate(_context: EventContext, _event: unknown): void {
    const diff = this.app.time() - this.pendingTs;
    if (diff < 0) {
      this.negative++;
      this.counter.add("timedrift.difference.negative");
      return;
    }
    this.positive++;
    this.counter.add("timedrift.difference.positive");
    const cap = this.history.length;
    this.history[(this.head + this.size) % cap] = diff;
    if (this.size < cap) this.size++;
    else this.head = (this.head + 1) % cap;
  }

  /** The current statistics of the history. */
  statistics(): { count: number; avg: number; median: number; stddev: number; min: number; max: number } {
    const n = this.size;
    if (n === 0) return { count: 0, avg: 0, median: 0, stddev: 0, min: 0, max: 0 };
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = this.history[(this.head + i) % this.history.length]!;
    values.sort();
    let sum = 0;
    for (const v of values) sum += v;
    const avg = sum / n;
    let sq = 0;
    for (const v of values) sq += (v - avg) ** 2;
    const h = n >> 1;
    const median = n % 2 ? values[h]! : (values[h - 1]! + values[h]!) / 2;
    return { count: n, avg, median, stddev: Math.sqrt(sq / n), min: values[0]!, max: values[n - 1]! };
  }

  override analyze(): void {
    const s = this.statistics();
    this.gauge.set("avg", s.avg);
    this.gauge.set("median", s.median);
    this.gauge.set("stddev", s.stddev);
    this.gauge.set("min", s.min);
    this.gauge.set("max", s.max);
    this.emit({ "@timestamp": this.app.time(), type: "timedrift", analyzer: this.id, pipeline: this.pipeline.id, ...s });
    this.head = 0;
    this.size = 0;
  }
}
