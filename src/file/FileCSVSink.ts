import { ConfigError, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline } from "../core/index.js";
import { FileBufferedSink } from "./FileBufferedSink.js";
import { formatRow, type CsvFormat } from "./csvformat.js";

export interface FileCSVSinkOptions extends ComponentOptions {
  fieldnames?: string[];
}

/**
 * Writes each event (an object) as a CSV row, quoted per RFC 4180 (Python csv's quoting modes).
 * Columns come from `fieldnames`, or from the first event's keys; each file (also after rotation)
 * starts with the header. Missing keys are written empty; extra keys are ignored (BSPump raised
 * ValueError [BUG]). Buffered, flushed on a timer and on stop (BSPump never flushed [BUG]).
 */
export class FileCSVSink extends FileBufferedSink {
  static override ConfigDefaults: ConfigSpec = {
    mode: { type: "string", default: "w", choices: ["a", "ab", "w", "wb"], doc: "w: truncate the file when first opened (BSPump); a: append" },
    fieldnames: { type: "list", default: [] as string[], doc: "Column names; empty: the first event's keys" },
    header: { type: "bool", default: true, doc: "Write a header row at the start of each file" },
    dialect: { type: "string", default: "excel", choices: ["excel", "excel-tab", "unix"], doc: "Python csv dialect" },
    delimiter: { type: "string", default: ",", doc: "Field delimiter" },
    doublequote: { type: "bool", default: true, doc: "A quote inside a field is doubled" },
    escapechar: { type: "string", default: "", doc: "Escape character (quoting 3, or doublequote false)" },
    lineterminator: { type: "string", default: "\n", doc: "Row terminator (RFC 4180 says \\r\\n)" },
    quotechar: { type: "string", default: '"', doc: "Quote character" },
    quoting: { type: "int", default: 0, doc: "0 minimal, 1 all, 2 non-numeric, 3 none" },
    skipinitialspace: { type: "bool", default: false, doc: "Accepted for compatibility" },
    strict: { type: "bool", default: false, doc: "Accepted for compatibility" },
  };

  private fields: string[] | null;
  private readonly format: CsvFormat;
  private readonly withHeader: boolean;

  constructor(app: Application, pipeline: Pipeline, options: FileCSVSinkOptions = {}) {
    super(app, pipeline, options);
    const configured = this.config.getList("fieldnames");
    this.fields = options.fieldnames ?? (configured.length > 0 ? configured : null);
    const quoting = this.config.getInt("quoting");
    if (quoting < 0 || quoting > 3) throw new ConfigError(`[${this.config.section}] key 'quoting': expected 0..3, got ${quoting}`);
    let delimiter = this.config.getString("delimiter");
    if (this.config.getString("dialect") === "excel-tab" && delimiter === ",") delimiter = "\t";
    this.format = {
      delimiter,
      quotechar: this.config.getString("quotechar"),
      escapechar: this.config.getString("escapechar"),
      doublequote: this.config.getBool("doublequote"),
      quoting,
      lineterminator: this.config.getString("lineterminator"),
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
