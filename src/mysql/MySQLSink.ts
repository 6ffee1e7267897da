import {
  ConfigError,
  locateConnection,
  ProcessingError,
  Sink,
  toError,
  ThrottleSwitch,
  Waiters,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type Receipt,
  type ConfigSpec,
} from "../core/index.js";
import { eventFailed } from "./failed.js";
import { MySQLConnection, isRetryable, prepareWrite, type PreparedWrite } from "./MySQLConnection.js";

interface Bulk {
  rows: unknown[][];
  events: unknown[];
  receipts: (Receipt | undefined)[];
}

/**
 * Writes events to MySQL/MariaDB: `query` is BSPump's statement with `%s` placeholders, filled from
 * the event fields named in `data` (missing fields are NULL; objects are stored as JSON). Rows are
 * gathered into bulks written as one multi-row `INSERT … VALUES ?` (or, for other statements, one
 * prepared statement per row in a transaction) when `max_bulk_size` rows are there or when the
 * oldest row waited `flush_period` seconds.
 *
 * Delivery: receipts are settled once the bulk is committed. Transient errors (lost connection,
 * deadlock) are retried with backoff; when the server refuses a bulk, its rows are retried one by
 * one so that only the refused rows go to the pipeline's error rules (warning, dead letter, or error
 * state with the receipt failed). The pipeline is throttled while `output_queue_max_size` bulks wait.
 */
export class MySQLSink extends Sink {
  static override ConfigDefaults: ConfigSpec = {
    query: { type: "string", default: "", required: true, doc: "Statement with %s placeholders, e.g. INSERT INTO t (a, b) VALUES (%s, %s)" },
    data: { type: "list", required: true, doc: "Event fields that fill the placeholders, in order (comma- or space-separated)" },
    max_bulk_size: { type: "int", default: 0, doc: "Rows per bulk; 0: the connection's max_bulk_size" },
    flush_period: { type: "float", default: -1, doc: "Seconds before a partly filled bulk is written; negative: the connection's flush_period" },
    output_queue_max_size: { type: "int", default: 0, doc: "Bulks waiting above which the pipeline is throttled; 0: the connection's value" },
  };

  override readonly settlesReceipts = true;
  readonly connection: MySQLConnection;
  readonly fields: string[];
  private readonly prepared: PreparedWrite;
  private readonly maxBulk: number;
  private readonly flushPeriod: number;
  private readonly maxQueue: number;
  private readonly concurrency: number;
  private bulk: Bulk = emptyBulk();
  private timer: NodeJS.Timeout | null = null;
  private readonly queue: Bulk[] = [];
  private writing = 0;
  private readonly throttle = new ThrottleSwitch(this.pipeline, this);
  private readonly idle = new Waiters();
  readonly counts = { rows: 0, bulks: 0, refused: 0, retriedRows: 0 };

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };

  constructor(app: Application, pipeline: Pipeline, connection: string | MySQLConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, MySQLConnection);
    this.fields = this.config.getList("data");
    const query = this.config.getString("query");
    this.prepared = prepareWrite(query);
    if (this.prepared.arity !== this.fields.length) {
      throw new ConfigError(`[${this.config.section}] query has ${this.prepared.arity} %s placeholders but data names ${this.fields.length} fields`);
    }
    const c = this.connection.config;
    this.maxBulk = Math.max(1, this.config.getInt("max_bulk_size") || c.getInt("max_bulk_size"));
    const fp = this.config.getFloat("flush_period");
    this.flushPeriod = fp >= 0 ? fp : c.getFloat("flush_period");
    this.maxQueue = Math.max(1, this.config.getInt("output_queue_max_size") || c.getInt("output_queue_max_size"));
    this.concurrency = Math.max(1, c.getInt("connection_pool_maxsize"));
    app.metrics.addCollector(() => [{ name: "bspump.mysql.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.counts, queued: this.queue.length } }]);
  }

  static override ConnectionClass = MySQLConnection;

  process(context: EventContext, event: unknown): null {
    if (typeof event !== "object" || event === null || Array.isArray(event) || Buffer.isBuffer(event)) {
      throw new ProcessingError(`${this.id} expects an object event, got ${event === null ? "null" : Array.isArray(event) ? "an array" : typeof event}`);
    }
    const record = event as Record<string, unknown>;
    const fields = this.fields;
    const row = new Array<unknown>(fields.length);
    for (let i = 0; i < fields.length; i++) row[i] = sqlValue(record[fields[i]!]);
    const bulk = this.bulk;
    bulk.rows.push(row);
    bulk.events.push(event);
    bulk.receipts.push(context.receipt);
    if (bulk.rows.length >= this.maxBulk) this.flush();
    else if (bulk.rows.length === 1 && this.flushPeriod > 0) {
      this.timer = setTimeout(this.onTimer, this.flushPeriod * 1000);
      this.timer.unref();
    } else if (bulk.rows.length === 1 && this.flushPeriod === 0) queueMicrotask(this.onTimer);
    return null;
  }

  /** Queues the current bulk for writing. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.bulk.rows.length === 0) return;
    this.queue.push(this.bulk);
    this.bulk = emptyBulk();
    this.updateThrottle();
    this.pump();
  }

  private pump(): void {
    while (this.writing < this.concurrency && this.queue.length > 0) {
      const bulk = this.queue.shift()!;
      this.writing++;
      void this.write(bulk).finally(() => {
        this.writing--;
        this.updateThrottle();
        this.pump();
        if (this.writing === 0 && this.queue.length === 0) this.idle.wakeAll();
      });
    }
  }

  private async write(bulk: Bulk): Promise<void> {
    const shouldStop = (): boolean => false;
    try {
      await this.connection.withRetry(() => this.connection.write(this.prepared, bulk.rows), shouldStop);
      this.counts.bulks++;
      this.counts.rows += bulk.rows.length;
      settleRuns(bulk.receipts);
      return;
    } catch (e) {
      if (bulk.rows.length === 1) {
        this.refused(bulk, 0, toError(e));
        return;
      }
    }
    // The server refused the bulk: find the refused rows by writing them one by one.
    for (let i = 0; i < bulk.rows.length; i++) {
      this.counts.retriedRows++;
      try {
        await this.connection.withRetry(() => this.connection.write(this.prepared, [bulk.rows[i]!]), shouldStop);
        this.counts.rows++;
        bulk.receipts[i]?.settle();
      } catch (e) {
        this.refused(bulk, i, toError(e));
      }
    }
  }

  private refused(bulk: Bulk, i: number, error: Error): void {
    this.counts.refused++;
    const e = new ProcessingError(`MySQL refused a row: ${error.message}`);
    e.name = isRetryable(error) ? "MySQLConnectionError" : "MySQLRowError";
    eventFailed(this.pipeline, this, bulk.receipts[i], bulk.events[i], e);
  }

  private updateThrottle(): void {
    const waiting = this.queue.length + this.writing;
    this.throttle.update(waiting >= this.maxQueue, waiting <= this.maxQueue / 2);
  }


  /** Resolves when every queued bulk was written (or refused). */
  whenIdle(): Promise<void> {
    if (this.writing === 0 && this.queue.length === 0) return Promise.resolve();
    return this.idle.wait();
  }

  get pendingRows(): number {
    return this.bulk.rows.length + this.queue.reduce((n, b) => n + b.rows.length, 0);
  }

  /** Writes what is buffered and waits for it. */
  override async stop(): Promise<void> {
    this.flush();
    await this.whenIdle();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Queued: this.queue.length, Writing: this.writing, Throttled: this.throttle.active, Counts: { ...this.counts } };
  }
}

function emptyBulk(): Bulk {
  return { rows: [], events: [], receipts: [] };
}

/** Settles a run of receipts (consecutive rows of one batch share one receipt: one call per run). */
function settleRuns(receipts: (Receipt | undefined)[]): void {
  let i = 0;
  while (i < receipts.length) {
    const r = receipts[i];
    let j = i + 1;
    while (j < receipts.length && receipts[j] === r) j++;
    r?.settle(j - i);
    i = j;
  }
}

/** A value mysql2 can bind: undefined → NULL, plain objects and arrays → JSON text. */
export function sqlValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v !== "object" || v === null || v instanceof Date || Buffer.isBuffer(v)) return v;
  return JSON.stringify(v);
}


