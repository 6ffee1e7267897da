import { readFileSync } from "node:fs";
import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { ByteWriter, ParquetWriter, type ColumnSource } from "hyparquet-writer";
import {
  BatchingSink,
  ConfigError,
  toError,
  type Application,
  type ReceiptTally,
  type ComponentOptions,
  type ConfigSpec, type TypedConfig,
  type EventContext,
  type Pipeline,
  type SentBatch,
} from "../core/index.js";
import { convertValue, inferSchema, parseSchema, schemaElement, type ParquetColumn } from "./schema.js";

/** A hyparquet-writer Writer that appends each finished row group to a file, asynchronously. */
class FileWriter extends ByteWriter {
  constructor(private readonly handle: FileHandle) {
    super(1 << 16);
  }

  flush(): Promise<void> {
    if (this.index === 0) return Promise.resolve();
    const bytes = Buffer.from(this.buffer.slice(0, this.index));
    this.index = 0;
    return writeAll(this.handle, bytes);
  }

  override finish(): Promise<void> {
    return this.flush();
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
}

/** `"1d"`, `"12h"`, `"30m"`, `"10s"`, `"2w"` or plain seconds → seconds. */
export function parsePeriod(text: string, where: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/.exec(text);
  if (!m) throw new ConfigError(`${where}: expected a period such as 10s, 5m, 1h, 1d or 1w, got '${text}'`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "" | "s" | "m" | "h" | "d" | "w"];
  const seconds = Number(m[1]) * unit;
  if (!(seconds > 0)) throw new ConfigError(`${where}: the period must be positive, got '${text}'`);
  return seconds;
}

const CONFIG = {
  rows_in_chunk: { type: "int", default: 1000, doc: "Rows per row group (a write)" },
  rollover_mechanism: { type: "string", default: "rows", doc: "'rows': a new file every rows_per_file rows; 'time': every writing_period; anything else: one file until stop" },
  rows_per_file: { type: "int", default: 10000, doc: "Rows per file with rollover_mechanism = rows" },
  writing_period: { type: "string", default: "1d", doc: "File period with rollover_mechanism = time (units s, m, h, d, w)" },
  file_name_template: { type: "string", default: "./sink{index}.parquet", doc: "Output file; {index} becomes a 4-digit file number" },
  schema_file: { type: "string", default: "", doc: "JSON schema file {\"column\": {\"type\": \"int\"}}; empty: inferred from the first events" },
  schema: { type: "string", default: "", doc: "The same JSON schema given inline" },
  flush_period: { type: "float", default: 10, doc: "Seconds after which buffered rows are written as a (smaller) row group; 0: never" },
  codec: { type: "string", default: "SNAPPY", choices: ["SNAPPY", "UNCOMPRESSED"], doc: "Compression" },
  max_pending_rows: { type: "int", default: 0, doc: "Rows waiting to be written above which the pipeline is throttled (0: 4 × rows_in_chunk)" },
} satisfies ConfigSpec;

/**
 * Writes events (flat objects) to Apache Parquet files with hyparquet-writer. Rows are buffered per
 * column and written as a row group every `rows_in_chunk` rows (or `flush_period` seconds after the first);
 * a file is written under `<name>-open` and renamed to its final name when finished, after
 * `rows_per_file` rows (`rollover_mechanism = rows`), every `writing_period` (`time`), and on stop.
 * The file name comes from `file_name_template`, `{index}` being a 4-digit number (existing files are
 * not overwritten: the index skips them).
 *
 * Schema: `schema_file` or `schema` (BSPump's `{"column": {"type": "int"}}`; types string, bool,
 * float, int, decimal, date, time/timestamp, bytearray, list/array/json), or inferred from the first
 * chunk of events. Values are converted per column; a value that cannot be converted is an error of
 * that event (the pipeline's error rules apply: a warning, the dead letter, or a stop). Missing
 * columns are written as null (`missing_attributes`), unknown attributes dropped (`new_attributes`).
 *
 * Delivery receipts are settled when the file holding the events is finished (complete and renamed):
 * only then can a reader open it.
 *
 * BSPump: `bspump.parquet.ParquetSink` (numeric keys read from INI were strings there [BUG]; here
 * every key is typed).
 */
export class ParquetSink extends BatchingSink<ColumnSource[]> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private columns: ParquetColumn[] | null;
  private columnIndex = new Map<string, number>();
  private data: unknown[][] = [];
  private scratch: unknown[] = [];
  /** Rows held as objects until the schema is inferred. */
  private pendingRows: Record<string, unknown>[] = [];
  /** Rows converted into `data` (the events of the open batch less those still held for inference). */
  private buffered = 0;
  /** Receipts of the row groups in the open file: settled when it is finished. */
  private fileTallies: ReceiptTally[] = [];
  /** Rows handed to the current file (written or on their way), for rows rollover. */
  private rowsInFile = 0;
  private writer: ParquetWriter | null = null;
  private handle: FileHandle | null = null;
  private openPath = "";
  private index = 0;
  private rotateTimer: NodeJS.Timeout | null = null;
  private readonly rowsInChunk: number;
  private readonly rowsPerFile: number;
  private readonly rollover: string;
  private readonly period: number;
  private readonly template: string;
  private readonly codec: "SNAPPY" | "UNCOMPRESSED";
  /** Final names of the finished files. */
  readonly files: string[] = [];
  readonly stats = { rows: 0, row_groups: 0, files: 0, error: 0, missing_attributes: 0, new_attributes: 0 };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const section = `[${this.config.section}]`;
    this.rowsInChunk = this.config.getInt("rows_in_chunk");
    if (this.rowsInChunk < 1) throw new ConfigError(`${section} rows_in_chunk must be at least 1`);
    this.rowsPerFile = this.config.getInt("rows_per_file");
    this.rollover = this.config.getString("rollover_mechanism");
    if (this.rollover === "rows" && this.rowsPerFile < 1) throw new ConfigError(`${section} rows_per_file must be at least 1`);
    this.period = parsePeriod(this.config.getString("writing_period"), `${section} writing_period`);
    this.template = this.config.getString("file_name_template");
    this.codec = this.config.getString("codec") as "SNAPPY" | "UNCOMPRESSED";
    const maxPending = this.config.getInt("max_pending_rows");
    const flushPeriod = this.config.getFloat("flush_period");
    this.batching({
      count: this.rowsInChunk,
      period: flushPeriod > 0 ? flushPeriod : Infinity,
      pendingUnit: "events",
      maxPending: maxPending > 0 ? maxPending : 4 * this.rowsInChunk,
    });
    const schemaFile = this.config.getString("schema_file");
    const schemaText = this.config.getString("schema");
    this.columns = null;
    if (schemaFile !== "") {
      let text: string;
      try {
        text = readFileSync(schemaFile, "utf8");
      } catch (e) {
        throw new ConfigError(`${section} schema_file: cannot read '${schemaFile}': ${(e as Error).message}`);
      }
      this.setSchema(parseSchema(text, `${section} schema_file '${schemaFile}'`));
    } else if (schemaText !== "") {
      this.setSchema(parseSchema(schemaText, `${section} schema`));
    }
    app.metrics.addCollector(() => [{ name: "bspump.parquet", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.stats, buffered: this.bufferedEvents } }]);
  }

  /** The columns written (null until inferred). */
  get schema(): readonly ParquetColumn[] | null {
    return this.columns;
  }

  private setSchema(columns: ParquetColumn[]): void {
    this.columns = columns;
    this.columnIndex = new Map(columns.map((c, i) => [c.name, i]));
    this.data = columns.map(() => []);
    this.scratch = new Array<unknown>(columns.length);
  }

  process(context: EventContext, event: unknown): null {
    if (typeof event !== "object" || event === null || Array.isArray(event) || event instanceof Uint8Array) {
      this.stats.error++;
      throw new TypeError(`${this.id} expects an object per event (one row), got ${Array.isArray(event) ? "an array" : typeof event}`);
    }
    const row = event as Record<string, unknown>;
    // Until the schema is inferred (at the first flush) rows are held as objects.
    if (this.columns === null) this.pendingRows.push(row);
    else this.append(row);
    this.added(context.receipt, 1);
    if (this.dueForRotation(this.bufferedEvents)) void this.rotate();
    return null;
  }

  private dueForRotation(buffered: number): boolean {
    return this.rollover === "rows" && this.rowsInFile + buffered >= this.rowsPerFile;
  }

  /** Converts one row into the column buffers; throws (changing nothing) when a value does not convert. */
  private append(row: Record<string, unknown>): void {
    const columns = this.columns!;
    const scratch = this.scratch;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      const value = row[column.name];
      if (value === undefined) this.stats.missing_attributes++;
      try {
        scratch[i] = convertValue(column, value);
      } catch (e) {
        this.stats.error++;
        throw e;
      }
    }
    for (const key in row) if (!this.columnIndex.has(key)) this.stats.new_attributes++;
    for (let i = 0; i < columns.length; i++) this.data[i]!.push(scratch[i]);
    this.buffered++;
  }

  private adoptInferredSchema(): void {
    const rows = this.pendingRows;
    this.pendingRows = [];
    this.setSchema(inferSchema(rows));
    this.pipeline.log.info(`${this.id}: inferred schema ${this.columns!.map((c) => `${c.name}:${c.type}`).join(", ")}`);
    for (const row of rows) {
      try {
        this.append(row);
      } catch (e) {
        // Only values the inference could not foresee (an invalid Date); the row is left out.
        this.pipeline.log.warn(`${this.id}: row left out: ${toError(e).message}`);
      }
    }
  }

  override start(): void {
    if (this.rollover === "time" && this.rotateTimer === null) {
      this.rotateTimer = setInterval(() => void this.rotate(), this.period * 1000);
      this.rotateTimer.unref();
    }
  }

  /** The buffered rows as one row group's columns. */
  protected takeBatch(): ColumnSource[] {
    if (this.columns === null) this.adoptInferredSchema();
    const columnData: ColumnSource[] = this.columns!.map((c, i) => ({ name: c.name, data: this.data[i]! }));
    this.rowsInFile += this.buffered;
    this.data = this.columns!.map(() => []);
    this.buffered = 0;
    return columnData;
  }

  protected async send(batch: SentBatch<ColumnSource[]>): Promise<void> {
    const rows = batch.data[0]?.data.length ?? 0;
    // Every row of the batch was left out when the schema was inferred (logged there).
    if (rows === 0) return;
    if (this.writer === null) await this.openFile();
    await this.writer!.write({ columnData: batch.data, rowGroupSize: rows });
    this.stats.row_groups++;
    this.stats.rows += rows;
    // The receipts wait until the file is finished.
    this.fileTallies.push(batch.tally.take());
  }

  /** A failed write fails its receipts and those of the open file, which is abandoned: the next row group starts a new one. */
  protected override sendFailed(batch: SentBatch<ColumnSource[]>, error: Error): void {
    this.stats.error++;
    this.pipeline.log.error(`${this.id}: writing '${this.openPath}' failed: ${error.message}`);
    batch.tally.failAll(error);
    for (const t of this.fileTallies.splice(0)) t.failAll(error);
    const handle = this.handle;
    this.handle = null;
    this.writer = null;
    void handle?.close().catch(() => {});
  }

  private async openFile(): Promise<void> {
    let final = this.fileName();
    while (await exists(final)) {
      this.index++;
      final = this.fileName();
    }
    this.openPath = `${final}-open`;
    this.handle = await open(this.openPath, "w");
    this.writer = new ParquetWriter({ writer: new FileWriter(this.handle), schema: [{ name: "root", num_children: this.columns!.length }, ...this.columns!.map(schemaElement)], codec: this.codec, createdBy: "bspump (hyparquet-writer)" });
  }

  private fileName(): string {
    return this.template.replaceAll("{index}", String(this.index).padStart(4, "0"));
  }

  /** Writes what is buffered and finishes the current file; the next rows start a new one. */
  async rotate(): Promise<void> {
    void this.flush();
    this.rowsInFile = 0;
    await this.afterQueued(() => this.finishFile());
  }

  private async finishFile(): Promise<void> {
    const writer = this.writer;
    const handle = this.handle;
    if (writer === null || handle === null) return;
    this.writer = null;
    this.handle = null;
    const tallies = this.fileTallies.splice(0);
    const openPath = this.openPath;
    const final = openPath.slice(0, -"-open".length);
    try {
      await writer.finish();
      await handle.close();
      await rename(openPath, final);
      this.files.push(final);
      this.stats.files++;
      this.index++;
      for (const t of tallies) t.settleAll();
    } catch (e) {
      const error = toError(e);
      this.stats.error++;
      this.pipeline.log.error(`${this.id}: finishing '${final}' failed: ${error.message}`);
      for (const t of tallies) t.failAll(error);
      await handle.close().catch(() => {});
      await unlink(openPath).catch(() => {});
    }
  }

  override async stop(): Promise<void> {
    if (this.rotateTimer !== null) clearInterval(this.rotateTimer);
    this.rotateTimer = null;
    await this.rotate();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
