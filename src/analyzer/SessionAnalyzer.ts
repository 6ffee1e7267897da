import { ConfigError, type Application, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { SessionMatrix } from "../matrix/SessionMatrix.js";
import { Analyzer, toNumber, toSeconds, type AnalyzerOptions } from "./Analyzer.js";
import { AnalyzerPartitions, PARTITIONED_CONFIG } from "./analyzerPartitions.js";

export interface SessionAnalyzerOptions extends AnalyzerOptions {
  matrix?: SessionMatrix;
  /** Set on the per-partition parts of a `partitioned` analyzer: the partition's name. */
  partition?: string;
}

const CONFIG = {
  analyze_period: { type: "float", default: 10, doc: "Seconds between expiry checks on the clock (time_source = clock)" },
  session_attr: { type: "string", default: "session_id", doc: "Event field with the session id" },
  time_source: { type: "string", default: "event", doc: "'event' or 'clock'", choices: ["event", "clock"] },
  timestamp_attr: { type: "string", default: "@timestamp", doc: "Event field with the event time" },
  timestamp_unit: { type: "string", default: "s", doc: "Unit of numeric timestamps", choices: ["s", "ms"] },
  idle_timeout: { type: "float", default: 1800, doc: "A session closes after this many seconds without events" },
  max_length: { type: "float", default: 86400, doc: "A session closes once it is this many seconds long" },
  sum_fields: { type: "list", default: [], doc: "Numeric event fields summed over the session" },
  last_fields: { type: "list", default: [], doc: "Event fields whose last value is kept (as strings)" },
  scan_period: { type: "float", default: 10, doc: "Seconds of event time between expiry checks" },
  flush_on_stop: { type: "bool", default: true, doc: "Emit open sessions (reason 'stop') when the pipeline stops" },
  persistent: { type: "bool", default: false, doc: "Keep sessions in files under 'path' across restarts" },
  path: { type: "string", default: "", doc: "Directory of the persistent matrix" },
  ...PARTITIONED_CONFIG,
} satisfies ConfigSpec;

/**
 * Session windows (BSPump's SessionAnalyzer, with the seed's "Session Window Analyzer"): one
 * SessionMatrix row per session id. Each event counts, adds its `sum_fields`, and copies its
 * `last_fields`. A session closes after `idle_timeout` seconds without events or once it is
 * `max_length` seconds long; the closed session is emitted as one event (`reason`: idle,
 * max_length or stop) and an event arriving after either limit starts a new session with that id.
 * Time is event time (`time_source = event`; expiry checked every `scan_period` seconds of event
 * time) or the clock (checked every `analyze_period` seconds).
 */
export class SessionAnalyzer extends Analyzer {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & Analyzer["config"];

  readonly matrix: SessionMatrix;
  get Sessions(): SessionMatrix {
    return this.matrix;
  }
  private readonly clockTime: boolean;
  private readonly sessionAttr: string;
  private readonly tsAttr: string;
  private readonly tsMs: boolean;
  readonly idleTimeout: number;
  readonly maxLength: number;
  private readonly sumFields: string[];
  private readonly lastFields: string[];
  private readonly scanPeriod: number;
  private readonly sums: number[] = [];
  private watermark = -Infinity;
  private nextScan = -Infinity;
  closed = 0;
  /** `partitioned`: one state per input partition (null: one state). */
  readonly partitions: AnalyzerPartitions<SessionAnalyzer> | null;

  constructor(app: Application, pipeline: Pipeline, options: SessionAnalyzerOptions = {}) {
    const clock = (options.config?.time_source ?? app.config.get(`pipeline:${pipeline.id}:${options.id ?? "SessionAnalyzer"}`, "time_source")) === "clock";
    super(app, pipeline, { ...options, analyzeOnClock: options.analyzeOnClock ?? clock });
    this.clockTime = this.config.getString("time_source") === "clock";
    this.sessionAttr = this.config.getString("session_attr");
    this.tsAttr = this.config.getString("timestamp_attr");
    this.tsMs = this.config.getString("timestamp_unit") === "ms";
    this.idleTimeout = this.config.getFloat("idle_timeout");
    this.maxLength = this.config.getFloat("max_length");
    this.sumFields = this.config.getList("sum_fields");
    this.lastFields = this.config.getList("last_fields");
    this.scanPeriod = this.config.getFloat("scan_period");
    if (!(this.idleTimeout > 0 && this.maxLength > 0)) throw new ConfigError(`[pipeline:${pipeline.id}:${this.id}] idle_timeout and max_length must be > 0`);
    const reserved = new Set(["_start", "_last", "_count"]);
    for (const f of [...this.sumFields, ...this.lastFields]) if (reserved.has(f)) throw new ConfigError(`[pipeline:${pipeline.id}:${this.id}] field name '${f}' is reserved`);
    if (options.matrix) this.matrix = options.matrix;
    else {
      const persistent = this.config.getBool("persistent");
      this.matrix = new SessionMatrix(app, {
        id: `${this.id}Matrix`,
        dtype: [["_start", "f8"], ["_last", "f8"], ["_count", "f8"], ...this.sumFields.map((f) => [f, "f8"] as const), ...this.lastFields.map((f) => [f, "U"] as const)],
        persistent,
        config: { primary_name: this.sessionAttr, path: persistent ? this.config.getString("path") : undefined },
      });
      app.pumpServiceOrNull()?.addMatrix(this.matrix);
    }
    const m = this.matrix;
    m.beforeSave = () => (m.meta.watermark = Number.isFinite(this.watermark) ? this.watermark : null);
    if (typeof m.meta.watermark === "number") this.watermark = m.meta.watermark;
    this.partitions = this.config.getBool("partitioned") && options.partition === undefined ? new AnalyzerPartitions<SessionAnalyzer>(this, (name, state) => this.makePart(name, state), (part) => part.matrix) : null;
  }

  /** A part of a partitioned analyzer: the same config, its own matrix (holding `state`), its results emitted by this one. */
  private makePart(name: string, state: Uint8Array | null): SessionAnalyzer {
    const m = this.matrix;
    const matrix = new SessionMatrix(this.app, { id: `${m.id}@${name}`, dtype: m.fields.map((f) => [f.name, f.format] as const), config: { primary_name: this.sessionAttr } });
    if (state !== null) matrix.restoreSnapshot(state);
    const config = { ...this.config.toJSON(), partitioned: false, target: "", flush_on_stop: false, persistent: false, analyze_on: "", analyze_on_clock: false };
    return new SessionAnalyzer(this.app, this.pipeline, { id: `${this.id}@${name}`, config, matrix, sink: (r) => this.emitOfPart(r), partition: name });
  }

  override process(context: EventContext, event: unknown): unknown {
    if (this.partitions === null) return super.process(context, event);
    // The event goes to its partition's part; a result it emits holds the event's receipt.
    const part = this.partitions.partFor(context);
    this.resultContext = context;
    try {
      part.process(context, event);
    } finally {
      this.resultContext = null;
    }
    return event;
  }

  override start(): void {
    super.start();
    this.partitions?.attach();
  }

  override evaluate(_context: EventContext, event: unknown): void {
    if (typeof event !== "object" || event === null) {
      this.badInput("missing_dimension", "event is not an object");
      return;
    }
    const e = event as Record<string, unknown>;
    const ts = this.clockTime ? this.app.time() : toSeconds(e[this.tsAttr], this.tsMs);
    if (!Number.isFinite(ts)) {
      this.badInput("missing_time", `event has no time in '${this.tsAttr}'`);
      return;
    }
    const sid = e[this.sessionAttr];
    if (sid === undefined || sid === null || sid === "") {
      this.badInput("missing_dimension", `event has no session id in '${this.sessionAttr}'`);
      return;
    }
    const sums = this.sums;
    for (let i = 0; i < this.sumFields.length; i++) {
      const v = toNumber(e[this.sumFields[i]!]);
      if (!Number.isFinite(v)) {
        this.badInput("bad_value", `'${this.sumFields[i]}' is not a number`);
        return;
      }
      sums[i] = v;
    }
    const name = typeof sid === "string" ? sid : String(sid);
    if (ts > this.watermark) {
      this.watermark = ts;
      if (!this.clockTime && ts >= this.nextScan) {
        if (this.nextScan !== -Infinity) this.expire(ts);
        this.nextScan = ts + this.scanPeriod;
      }
    }
    const m = this.matrix;
    let row = m.getRowIndex(name);
    if (row !== undefined) {
      const start = m.get(row, 0, "_start") as number;
      const last = m.get(row, 0, "_last") as number;
      if (ts - last > this.idleTimeout) this.closeSession(name, "idle");
      else if (ts - start >= this.maxLength) this.closeSession(name, "max_length");
      else {
        if (ts > last) m.set(row, 0, ts, "_last");
        if (ts < start) m.set(row, 0, ts, "_start");
      }
      row = m.getRowIndex(name);
    }
    if (row === undefined) {
      row = m.addRow(name);
      m.set(row, 0, ts, "_start");
      m.set(row, 0, ts, "_last");
    }
    m.numeric("_count")[0]![row]! += 1;
    for (let i = 0; i < this.sumFields.length; i++) m.numeric(this.sumFields[i])[0]![row]! += sums[i]!;
    for (const f of this.lastFields) {
      const v = e[f];
      if (v !== undefined && v !== null) m.set(row, 0, typeof v === "string" ? v : JSON.stringify(v), f);
    }
  }

  /** Closes the sessions that are idle or too long at time `now`. */
  expire(now: number): void {
    const m = this.matrix;
    const idle: string[] = [];
    const long: string[] = [];
    for (const [name, row] of m.index) {
      if (now - (m.get(row, 0, "_last") as number) > this.idleTimeout) idle.push(name);
      else if (now - (m.get(row, 0, "_start") as number) >= this.maxLength) long.push(name);
    }
    for (const name of idle) this.closeSession(name, "idle");
    for (const name of long) this.closeSession(name, "max_length");
  }

  /** Emits the session and frees its row. */
  closeSession(name: string, reason: string): void {
    const m = this.matrix;
    const row = m.getRowIndex(name);
    if (row === undefined) return;
    const start = m.get(row, 0, "_start") as number;
    const end = m.get(row, 0, "_last") as number;
    const out: Record<string, unknown> = {
      "@timestamp": end,
      type: "session",
      analyzer: this.id,
      [this.sessionAttr]: name,
      start,
      end,
      duration: end - start,
      count: m.get(row, 0, "_count"),
      reason,
    };
    for (const f of this.sumFields) out[f] = m.get(row, 0, f);
    for (const f of this.lastFields) out[f] = m.get(row, 0, f);
    m.closeRow(name);
    this.closed++;
    this.emit(out);
  }

  override analyze(): void {
    if (this.partitions !== null) for (const [, part] of this.partitions.entries()) part.analyze();
    else if (this.clockTime) this.expire(this.app.time());
  }

  protected override onStop(): void {
    // Partitioned: the open sessions stay in the partitions' checkpoints.
    if (this.partitions !== null || !this.config.getBool("flush_on_stop")) return;
    for (const name of [...this.matrix.index.keys()]) this.closeSession(name, "stop");
  }
}
