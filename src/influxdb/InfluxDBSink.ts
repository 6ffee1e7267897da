import {
  BatchingSink,
  locateConnection,
  ProcessingError,
  RetryableError,
  toError,
  type Application,
  type ComponentOptions,
  type ConfigSpec, type TypedConfig,
  type EventContext,
  type Pipeline,
  type SentBatch,
} from "../core/index.js";
import { InfluxDBConnection } from "./InfluxDBConnection.js";
import { pointLine, timestamp, type IntegerMode, type InfluxPoint } from "./lineprotocol.js";

const CONFIG = {
  integers: { type: "string", default: "bigint", choices: ["bigint", "auto"], doc: "Which point-object numbers get the integer 'i' suffix: bigint (only BigInt values) or auto (every integral number)" },
} satisfies ConfigSpec;

/**
 * Writes events to InfluxDB 1.x as line protocol. An event is one of:
 * - BSPump's tuple `[measurement, tag_set, field_set, timestamp_seconds]` (tag and field sets
 *   already formatted; the timestamp written in the connection's `precision` — BSPump always wrote
 *   nanoseconds [BUG]);
 * - a string or Buffer of ready line protocol (a newline is added when missing);
 * - a point object `{measurement, tags?, fields, time?}`, escaped here: strings quoted, booleans,
 *   `i`-suffixed integers for bigint values (or every integral number with `integers = auto`).
 * An event that cannot be written throws in `process()` and goes to the pipeline's error rules.
 *
 * Lines are gathered into a bucket sent when it reaches `output_bucket_max_size` characters or
 * after `flush_period` seconds. Receipts are settled after a 2xx answer. Network errors and 5xx
 * answers are retried with backoff (the pipeline is throttled meanwhile); another answer (4xx) fails
 * the bucket with the server's message through the pipeline's error rules (warning, dead letter, or
 * error state with the receipts failed). The pipeline is throttled while `output_queue_max_size`
 * buckets wait.
 */
export class InfluxDBSink extends BatchingSink<Buffer> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: InfluxDBConnection;
  private readonly integers: IntegerMode;
  private readonly maxBucket: number;
  private text = "";
  readonly counts = { lines: 0, buckets: 0, failedBuckets: 0, retries: 0 };

  constructor(app: Application, pipeline: Pipeline, connection: string | InfluxDBConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, InfluxDBConnection);
    this.integers = this.config.getString("integers") as IntegerMode;
    const c = this.connection.config;
    this.maxBucket = Math.max(1, c.getInt("output_bucket_max_size"));
    const flushPeriod = c.getFloat("flush_period");
    this.batching({
      byteSize: this.maxBucket,
      period: flushPeriod > 0 ? flushPeriod : 0,
      maxPending: Math.max(1, c.getInt("output_queue_max_size")),
      // While retrying, the pipeline waits (BSPump paused its sinks for 3 s).
      retries: Infinity,
      retryDelay: 0.2,
      maxRetryDelay: this.connection.maxRetryDelay,
    });
    app.metrics.addCollector(() => [{ name: "bspump.influxdb.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.counts, queued: this.queued } }]);
  }

  static override ConnectionClass = InfluxDBConnection;

  /** The line for one event (with its newline). Throws ProcessingError for an event that cannot be written. */
  lineOf(event: unknown): string {
    try {
      if (typeof event === "string") return event.endsWith("\n") ? event : event + "\n";
      if (Buffer.isBuffer(event)) {
        const s = event.toString("utf8");
        return s.endsWith("\n") ? s : s + "\n";
      }
      if (Array.isArray(event)) {
        if (event.length !== 4 || typeof event[0] !== "string" || typeof event[1] !== "string" || typeof event[2] !== "string") {
          throw new TypeError("a tuple event must be [measurement, tag_set, field_set, timestamp]");
        }
        const [measurement, tagSet, fieldSet, t] = event as [string, string, string, unknown];
        if (fieldSet === "") throw new TypeError("empty field set");
        const head = tagSet === "" ? measurement : `${measurement},${tagSet}`;
        return t === undefined || t === null ? `${head} ${fieldSet}\n` : `${head} ${fieldSet} ${timestamp(t, this.connection.precision)}\n`;
      }
      if (typeof event === "object" && event !== null) return pointLine(event as InfluxPoint, this.connection.precision, this.integers);
      throw new TypeError(`cannot write a ${typeof event} event`);
    } catch (e) {
      throw new ProcessingError(`${this.id}: ${toError(e).message}`);
    }
  }

  process(context: EventContext, event: unknown): null {
    const line = this.lineOf(event);
    // A bucket stays within output_bucket_max_size: the line that would pass it starts the next one.
    if (this.text.length > 0 && this.text.length + line.length > this.maxBucket) this.handOver();
    this.text += line;
    this.added(context.receipt, line.length);
    return null;
  }

  protected takeBatch(): Buffer {
    // One Buffer per bucket: a `+=` rope kept queued costs the GC.
    const body = Buffer.from(this.text, "utf8");
    this.text = "";
    return body;
  }

  protected async send(batch: SentBatch<Buffer>, attempt: number): Promise<void> {
    if (attempt > 0) this.counts.retries++;
    const result = await this.connection.write(batch.data);
    if (result.ok) {
      this.counts.buckets++;
      this.counts.lines += batch.events;
      return;
    }
    if (result.retry) throw new RetryableError(`InfluxDB write failed (${result.status || "network"}: ${result.message})`);
    this.counts.failedBuckets++;
    const error = new ProcessingError(`InfluxDB refused the write (${result.status}): ${result.message}`);
    error.name = "InfluxDBWriteError";
    // The pipeline's failure path decides once for the bucket (its text is the failed event).
    this.batchFailed(batch.tally, batch.data.toString("utf8"), error);
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Counts: { ...this.counts } };
  }
}
