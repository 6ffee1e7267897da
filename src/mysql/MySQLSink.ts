import {
  BatchingSink,
  ConfigError,
  locateConnection,
  ProcessingError,
  toError,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type Receipt,
  type ConfigSpec, type TypedConfig,
  type SentBatch,
} from "../core/index.js";
import { MySQLConnection, isRetryable, prepareWrite, type PreparedWrite } from "./MySQLConnection.js";

interface Bulk {
  rows: unknown[][];
  events: unknown[];
  /** Per row, for settling row by row when the server refused the bulk. */
  receipts: (Receipt | undefined)[];
}

const CONFIG = {
  query: { type: "string", default: "", required: true, doc: "Statement with %s placeholders, e.g. INSERT INTO t (a, b) VALUES (%s, %s)" },
  data: { type: "list", required: true, doc: "Event fields that fill the placeholders, in order (comma- or space-separated)" },
  max_bulk_size: { type: "int", default: 0, doc: "Rows per bulk; 0: the connection's max_bulk_size" },
  flush_period: { type: "float", default: -1, doc: "Seconds before a partly filled bulk is written; negative: the connection's flush_period" },
  output_queue_max_size: { type: "int", default: 0, doc: "Bulks waiting above which the pipeline is throttled; 0: the connection's value" },
} satisfies ConfigSpec;

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
export class MySQLSink extends BatchingSink<Bulk> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: MySQLConnection;
  readonly fields: string[];
  private readonly prepared: PreparedWrite;
  private bulk: Bulk = emptyBulk();
  readonly counts = { rows: 0, bulks: 0, refused: 0, retriedRows: 0 };

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
    const fp = this.config.getFloat("flush_period");
    const period = fp >= 0 ? fp : c.getFloat("flush_period");
    // No retries here: transient errors are retried by the connection (withRetry), as for MySQLSource and the lookup.
    this.batching({
      count: Math.max(1, this.config.getInt("max_bulk_size") || c.getInt("max_bulk_size")),
      period: period < 0 ? Infinity : period,
      concurrency: Math.max(1, c.getInt("connection_pool_maxsize")),
      maxPending: Math.max(1, this.config.getInt("output_queue_max_size") || c.getInt("output_queue_max_size")),
    });
    app.metrics.addCollector(() => [{ name: "bspump.mysql.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.counts, queued: this.queued } }]);
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
    this.added(context.receipt, 1);
    return null;
  }

  protected takeBatch(): Bulk {
    const bulk = this.bulk;
    this.bulk = emptyBulk();
    return bulk;
  }

  protected async send(batch: SentBatch<Bulk>): Promise<void> {
    const bulk = batch.data;
    try {
      await this.connection.withRetry(() => this.connection.write(this.prepared, bulk.rows));
      this.counts.bulks++;
      this.counts.rows += bulk.rows.length;
      return;
    } catch (e) {
      if (bulk.rows.length === 1) {
        batch.tally.take();
        this.refused(bulk, 0, toError(e));
        return;
      }
    }
    // The server refused the bulk: find the refused rows by writing them one by one (settled per row).
    batch.tally.take();
    for (let i = 0; i < bulk.rows.length; i++) {
      this.counts.retriedRows++;
      try {
        await this.connection.withRetry(() => this.connection.write(this.prepared, [bulk.rows[i]!]));
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
    const receipt = bulk.receipts[i];
    this.pipeline.eventFailed(receipt ? { receipt } : {}, bulk.events[i], e, this);
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Counts: { ...this.counts } };
  }
}

function emptyBulk(): Bulk {
  return { rows: [], events: [], receipts: [] };
}

/** A value mysql2 can bind: undefined → NULL, plain objects and arrays → JSON text. */
export function sqlValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v !== "object" || v === null || v instanceof Date || Buffer.isBuffer(v)) return v;
  return JSON.stringify(v);
}


