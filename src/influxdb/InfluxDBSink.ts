import {
  ConfigError,
  locateConnection,
  Pipeline,
  ProcessingError,
  ReceiptTally,
  Sink,
  toError,
  ThrottleSwitch,
  Waiters,
  type Application,
  type ComponentOptions,
  type DeadLetterEvent,
  type EventContext,
  type ConfigSpec,
} from "../core/index.js";
import { InfluxDBConnection } from "./InfluxDBConnection.js";
import { pointLine, timestamp, type IntegerMode, type InfluxPoint } from "./lineprotocol.js";

interface Bucket {
  text: string;
  /** The text as one Buffer, made when the bucket is queued (a `+=` rope kept queued costs the GC). */
  body: Buffer | null;
  tally: ReceiptTally;
  lines: number;
}

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
export class InfluxDBSink extends Sink {
  static override ConfigDefaults: ConfigSpec = {
    integers: { type: "string", default: "bigint", doc: "Which point-object numbers get the integer 'i' suffix: bigint (only BigInt values) or auto (every integral number)" },
  };

  override readonly settlesReceipts = true;
  readonly connection: InfluxDBConnection;
  private readonly integers: IntegerMode;
  private readonly maxBucket: number;
  private readonly maxQueue: number;
  private readonly flushPeriod: number;
  private bucket: Bucket = emptyBucket();
  private readonly queue: Bucket[] = [];
  private sending = false;
  private retrying = false;
  private readonly throttle = new ThrottleSwitch(this.pipeline, this);
  private timer: NodeJS.Timeout | null = null;
  private readonly idle = new Waiters();
  readonly counts = { lines: 0, buckets: 0, failedBuckets: 0, retries: 0 };

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };

  constructor(app: Application, pipeline: Pipeline, connection: string | InfluxDBConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, InfluxDBConnection);
    const integers = this.config.getString("integers");
    if (integers !== "bigint" && integers !== "auto") throw new ConfigError(`[${this.config.section}] key 'integers' must be bigint or auto, got '${integers}'`);
    this.integers = integers;
    const c = this.connection.config;
    this.maxBucket = Math.max(1, c.getInt("output_bucket_max_size"));
    this.maxQueue = Math.max(1, c.getInt("output_queue_max_size"));
    this.flushPeriod = c.getFloat("flush_period");
    app.metrics.addCollector(() => [{ name: "bspump.influxdb.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.counts, queued: this.queue.length } }]);
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
    const bucket = this.bucket;
    if (bucket.text.length > 0 && bucket.text.length + line.length > this.maxBucket) this.flush();
    const b = this.bucket;
    b.text += line;
    b.lines++;
    b.tally.add(context.receipt);
    if (b.text.length >= this.maxBucket) this.flush();
    else if (b.lines === 1 && this.timer === null) {
      if (this.flushPeriod > 0) {
        this.timer = setTimeout(this.onTimer, this.flushPeriod * 1000);
        this.timer.unref();
      } else queueMicrotask(this.onTimer);
    }
    return null;
  }

  /** Queues the current bucket for sending. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.bucket.lines === 0) return;
    this.bucket.body = Buffer.from(this.bucket.text, "utf8");
    this.bucket.text = "";
    this.queue.push(this.bucket);
    this.bucket = emptyBucket();
    this.updateThrottle();
    void this.pump();
  }

  /** Sends queued buckets one at a time, in order. */
  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const bucket = this.queue[0]!;
        await this.send(bucket);
        this.queue.shift();
        this.updateThrottle();
      }
    } finally {
      this.sending = false;
      this.idle.wakeAll();
    }
  }

  private async send(bucket: Bucket): Promise<void> {
    let delay = 0.2;
    for (;;) {
      const result = await this.connection.write(bucket.body!);
      if (result.ok) {
        this.counts.buckets++;
        this.counts.lines += bucket.lines;
        bucket.tally.settleAll();
        this.setRetrying(false);
        return;
      }
      if (!result.retry) {
        this.counts.failedBuckets++;
        this.setRetrying(false);
        const error = new ProcessingError(`InfluxDB refused the write (${result.status}): ${result.message}`);
        error.name = "InfluxDBWriteError";
        this.bucketFailed(bucket, error);
        return;
      }
      this.counts.retries++;
      // While retrying, the pipeline waits (BSPump paused its sinks for 3 s).
      this.setRetrying(true);
      this.pipeline.log.warn(`${this.id}: InfluxDB write failed (${result.status || "network"}: ${result.message}); retrying in ${delay.toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, delay * 1000));
      delay = Math.min(this.connection.maxRetryDelay, delay * 2);
    }
  }

  /** A bucket the server refused: the pipeline's error rules decide, once for the bucket. */
  private bucketFailed(bucket: Bucket, error: Error): void {
    const pipeline = this.pipeline;
    let soft = false;
    try {
      soft = pipeline.handleError(error, {}, bucket.body!.toString("utf8"));
    } catch {
      soft = false;
    }
    if (soft) {
      pipeline.warnings++;
      bucket.tally.settleAll();
      return;
    }
    let target = pipeline.deadLetter;
    if (typeof target === "string") target = this.app.pumpServiceOrNull()?.locatePipeline(target) ?? null;
    if (target === null) {
      bucket.tally.failAll(error);
      if (!pipeline.isError()) pipeline.setError(null, bucket.body!.toString("utf8"), error);
      return;
    }
    const record: DeadLetterEvent = { pipeline: pipeline.id, component: this.id, error: { name: error.name, message: error.message }, time: this.app.time(), event: bucket.body!.toString("utf8") };
    pipeline.errors++;
    pipeline.deadLettered++;
    try {
      if (target instanceof Pipeline) target.process(record, {});
      else target.process({}, record);
      bucket.tally.settleAll();
    } catch (e) {
      bucket.tally.failAll(toError(e));
      pipeline.setError(null, null, new ProcessingError(`Dead-letter target failed: ${toError(e).message}`));
    }
  }

  private setRetrying(on: boolean): void {
    if (this.retrying === on) return;
    this.retrying = on;
    this.updateThrottle();
  }

  private updateThrottle(): void {
    const waiting = this.queue.length;
    const over = this.retrying || waiting >= this.maxQueue;
    this.throttle.update(over, !this.retrying && waiting <= this.maxQueue / 2);
  }


  /** Resolves when everything queued was sent (or failed). */
  whenIdle(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return this.idle.wait();
  }

  override async stop(): Promise<void> {
    this.flush();
    await this.whenIdle();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Queued: this.queue.length, Throttled: this.throttle.active, Retrying: this.retrying, Counts: { ...this.counts } };
  }
}

function emptyBucket(): Bucket {
  return { text: "", body: null, tally: new ReceiptTally(), lines: 0 };
}

