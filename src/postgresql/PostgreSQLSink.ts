import {
  BatchingSink,
  locateConnection,
  ProcessingError,
  RetryableError,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type Receipt,
  type ConfigSpec, type TypedConfig,
  type SentBatch,
} from "../core/index.js";
import { PostgreSQLConnection, describeError, isRetryable } from "./PostgreSQLConnection.js";
import { planWrite, writeRows, type WritePlan } from "./pgWrite.js";

interface Bulk {
  rows: unknown[][];
  events: unknown[];
  /** Per row, for settling row by row once the server refused the bulk. */
  receipts: (Receipt | undefined)[];
  /** Rows already committed or refused (a retry after a transient error skips them). */
  done: Uint8Array | null;
}

const CONFIG = {
  query: { type: "string", default: "", doc: "Statement with %s placeholders, e.g. INSERT INTO t (a, b) VALUES (%s, %s); or use table" },
  table: { type: "string", default: "", doc: "Table to insert into (instead of query); its columns are the data fields" },
  data: { type: "list", required: true, doc: "Event fields that fill the placeholders (or the table's columns), in order" },
  upsert_key: { type: "list", default: "", doc: "With table: key columns; rows with an existing key update it (INSERT … ON CONFLICT DO UPDATE)" },
  method: { type: "string", default: "auto", choices: ["auto", "copy", "insert"], doc: "auto: COPY for a plain INSERT, multi-row INSERT otherwise; copy or insert to force one" },
  max_bulk_size: { type: "int", default: 0, doc: "Rows per bulk; 0: the connection's max_bulk_size" },
  flush_period: { type: "float", default: -1, doc: "Seconds before a partly filled bulk is written; negative: the connection's flush_period" },
  output_queue_max_size: { type: "int", default: 0, doc: "Bulks waiting above which the pipeline is throttled; 0: the connection's value" },
  max_retries: { type: "int", default: -1, doc: "Retries of a bulk after transient errors before it fails (to the error rules); -1: until it succeeds" },
} satisfies ConfigSpec;

/**
 * Writes events to PostgreSQL. The statement is BSPump's `query` with `%s` placeholders filled
 * from the event fields named in `data`, or `table` with `data` as its columns (and `upsert_key`
 * for `INSERT … ON CONFLICT (key) DO UPDATE`). A bulk of `max_bulk_size` rows, or what came within
 * `flush_period`, is written in one transaction: `COPY … FROM STDIN` for a plain INSERT, one
 * multi-row INSERT otherwise, one statement per row for anything else.
 *
 * Delivery: receipts settle after the commit. Transient errors (connection lost or terminated,
 * deadlock, server restarting) are retried with backoff while the pipeline is throttled. When the
 * server refuses a bulk (a type or constraint error), the bulk is split in halves until the refused
 * rows are found: the good rows are written and settled, each refused row goes to the pipeline's
 * error rules with the database's message (warning, dead letter, or error state with its receipt failed).
 */
export class PostgreSQLSink extends BatchingSink<Bulk> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  static override ConnectionClass = PostgreSQLConnection;

  readonly connection: PostgreSQLConnection;
  readonly fields: string[];
  readonly plan: WritePlan;
  private bulk: Bulk = emptyBulk();
  readonly counts = { rows: 0, bulks: 0, refused: 0, splits: 0 };

  constructor(app: Application, pipeline: Pipeline, connection: string | PostgreSQLConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, PostgreSQLConnection);
    this.fields = this.config.getList("data");
    const cfg = this.config;
    this.plan = planWrite(cfg.section, cfg.getString("query"), cfg.getString("table"), this.fields, cfg.getList("upsert_key"), cfg.getString("method"));
    const c = this.connection.config;
    const fp = cfg.getFloat("flush_period");
    const period = fp >= 0 ? fp : c.getFloat("flush_period");
    this.batching({
      count: Math.max(1, cfg.getInt("max_bulk_size") || c.getInt("max_bulk_size")),
      period: period < 0 ? Infinity : period,
      // COPY bulks (plain inserts) go two at a time, one formatted while the other is written;
      // statements one at a time, in order: an upsert of the same key in two bulks must land in event order.
      concurrency: this.plan.copy !== null ? 2 : 1,
      maxPending: Math.max(1, cfg.getInt("output_queue_max_size") || c.getInt("output_queue_max_size")),
      retries: cfg.getInt("max_retries") < 0 ? Infinity : cfg.getInt("max_retries"),
      retryDelay: 0.1,
      maxRetryDelay: this.connection.reconnectDelay,
    });
    app.metrics.addCollector(() => [{ name: "bspump.postgresql.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.counts, queued: this.queued } }]);
  }

  process(context: EventContext, event: unknown): null {
    if (typeof event !== "object" || event === null || Array.isArray(event) || Buffer.isBuffer(event)) {
      throw new ProcessingError(`${this.id} expects an object event, got ${event === null ? "null" : Array.isArray(event) ? "an array" : typeof event}`);
    }
    const record = event as Record<string, unknown>;
    const fields = this.fields;
    const row = new Array<unknown>(fields.length);
    for (let i = 0; i < fields.length; i++) row[i] = record[fields[i]!];
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
    if (bulk.done === null) {
      try {
        await this.write(bulk.rows);
        this.counts.bulks++;
        this.counts.rows += bulk.rows.length;
        return; // the base settles the batch's receipts
      } catch (e) {
        this.transientOrNot(e);
      }
      // Refused: from here on rows settle one by one.
      batch.tally.take();
      bulk.done = new Uint8Array(bulk.rows.length);
      this.counts.splits++;
    }
    const open: number[] = [];
    for (let i = 0; i < bulk.rows.length; i++) if (bulk.done[i] === 0) open.push(i);
    await this.bisect(bulk, open, true);
  }

  /** Writes the rows at `idx`; on refusal splits them in halves, down to the refused rows. */
  private async bisect(bulk: Bulk, idx: number[], knownBad: boolean): Promise<void> {
    if (idx.length === 0) return;
    if (!knownBad || idx.length === 1) {
      try {
        await this.write(idx.map((i) => bulk.rows[i]!));
        this.counts.rows += idx.length;
        for (const i of idx) {
          bulk.done![i] = 1;
          bulk.receipts[i]?.settle();
        }
        return;
      } catch (e) {
        this.transientOrNot(e);
        if (idx.length === 1) {
          bulk.done![idx[0]!] = 1;
          this.refused(bulk, idx[0]!, e);
          return;
        }
      }
    }
    const half = idx.length >> 1;
    await this.bisect(bulk, idx.slice(0, half), false);
    await this.bisect(bulk, idx.slice(half), false);
  }

  /** A transient error becomes a RetryableError (the base retries the batch; rows done stay done). */
  private transientOrNot(e: unknown): void {
    if (isRetryable(e)) {
      this.connection.retries++;
      throw new RetryableError(`PostgreSQL: ${describeError(e)}`);
    }
  }

  private async write(rows: unknown[][]): Promise<void> {
    const client = await this.connection.acquire();
    try {
      await writeRows(client, this.plan, rows);
      client.release();
    } catch (e) {
      // A connection that failed at the network level is not given back to the pool.
      client.release(isRetryable(e) ? (e as Error) : undefined);
      throw e;
    }
  }

  private refused(bulk: Bulk, i: number, error: unknown): void {
    this.counts.refused++;
    const e = new ProcessingError(`PostgreSQL refused a row: ${describeError(error)}`);
    e.name = "PostgreSQLRowError";
    const receipt = bulk.receipts[i];
    this.pipeline.eventFailed(receipt ? { receipt } : {}, bulk.events[i], e, this);
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Counts: { ...this.counts } };
  }
}

function emptyBulk(): Bulk {
  return { rows: [], events: [], receipts: [], done: null };
}
