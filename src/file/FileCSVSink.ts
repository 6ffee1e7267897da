import type { Application, ComponentOptions, ConfigSpec, TypedConfig, EventContext, Pipeline } from "../core/index.js";
import { CSV_DIALECT_CONFIG, csvDialect } from "../codec/csvdialect.js";
import { FileBufferedSink } from "./FileBufferedSink.js";
import { formatRow, type CsvFormat } from "../codec/csvformat.js";

const CONFIG = {
  mode: { type: "string", default: "w", choices: ["a", "ab", "w", "wb"], doc: "w: truncate the file when first opened (BSPump); a: append" },
  fieldnames: { type: "list", default: [] as string[], doc: "Column names; empty: the first event's keys" },
  header: { type: "bool", default: true, doc: "Write a header row at the start of each file" },
  ...CSV_DIALECT_CONFIG,
} satisfies ConfigSpec;

/**
 * Writes each event (an object) as a CSV row, quoted per RFC 4180 (Python csv's quoting modes).
 * Columns come from `fieldnames`, or from the first event's keys; each file (also after rotation)
 * starts with the header. Missing keys are written empty; extra keys are ignored (BSPump raised
 * ValueError [BUG]). Buffered, flushed on a timer and on stop (BSPump never flushed [BUG]).
 */
export class FileCSVSink extends FileBufferedSink {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileBufferedSink["config"];

  private fields: string[] | null;
  private readonly format: CsvFormat;
  private readonly withHeader: boolean;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const configured = this.config.getList("fieldnames");
    this.fields = configured.length > 0 ? configured : null;
    const dialect = csvDialect(this.config);
    this.format = {
      delimiter: dialect.delimiter,
      quotechar: dialect.quotechar,
      escapechar: dialect.escapechar,
      doublequote: dialect.doublequote,
      quoting: dialect.quoting,
      lineterminator: dialect.lineterminator,
    };
    this.withHeader = this.config.getBool("header");
  }

  /** The columns written (null until the first event when not configured). */
  get fieldnames(): readonly string[] | null {
    return this.fields;
  }

  protected override fileHeader(): string | null {
    return this.withHeader && this.fields !== null ? formatRow(this.fields, this.format) : null;
  }

  protected serialize(_context: EventContext, event: unknown): string {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      if (Array.isArray(event)) return formatRow(event, this.format);
      throw new TypeError(`FileCSVSink expects an object (or an array of values), got ${event === null ? "null" : typeof event}`);
    }
    const record = event as Record<string, unknown>;
    this.fields ??= Object.keys(record);
    const fields = this.fields;
    const values = new Array<unknown>(fields.length);
    for (let i = 0; i < fields.length; i++) values[i] = record[fields[i]!];
    return formatRow(values, this.format);
  }
}
