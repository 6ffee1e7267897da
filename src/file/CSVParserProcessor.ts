import type { Options } from "csv-parse/sync";
import { ConfigError, Processor, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline, dependency } from "../core/index.js";

const csvParseSync = dependency<typeof import("csv-parse/sync")>("csv-parse/sync");

export interface CSVProcessorOptions extends ComponentOptions {
  fieldnames?: string[];
}

/** The CSV options shared by the CSV processors. */
export const CSV_PROCESSOR_DEFAULTS: ConfigSpec = {
  fieldnames: { type: "list", default: [] as string[], doc: "Column names; CSVGenerator: empty = the block's first row is the header" },
  delimiter: { type: "string", default: ",", doc: "Field delimiter" },
  quotechar: { type: "string", default: '"', doc: "Quote character" },
  encoding: { type: "string", default: "utf-8", doc: "Encoding of Buffer input" },
};

export function csvOptions(config: { getString(k: string): string }, strict: boolean): Options {
  return { delimiter: config.getString("delimiter"), quote: config.getString("quotechar"), relax_column_count: !strict, bom: true, skip_empty_lines: true };
}

/**
 * One CSV line (string or Buffer) in, one object out, keyed by `fieldnames` (config or option).
 * A line that is not valid CSV throws, so the pipeline's error rules decide (warning, dead letter or
 * error state).
 */
export class CSVParserProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = CSV_PROCESSOR_DEFAULTS;
  readonly fieldnames: string[];
  private readonly options: Options;
  private readonly encoding: BufferEncoding;

  constructor(app: Application, pipeline: Pipeline, options: CSVProcessorOptions = {}) {
    super(app, pipeline, options);
    this.fieldnames = options.fieldnames ?? this.config.getList("fieldnames");
    if (this.fieldnames.length === 0) throw new ConfigError(`[${this.config.section}] CSVParserProcessor needs 'fieldnames'`);
    this.options = csvOptions(this.config, true);
    this.encoding = this.config.getString("encoding") as BufferEncoding;
  }

  process(_context: EventContext, event: unknown): Record<string, string> {
    const text = typeof event === "string" ? event : Buffer.isBuffer(event) ? event.toString(this.encoding) : null;
    if (text === null) throw new TypeError(`CSVParserProcessor expects a string or a Buffer, got ${typeof event}`);
    const rows = csvParseSync().parse(text, this.options) as string[][];
    if (rows.length !== 1) throw new Error(`CSVParserProcessor expects one CSV row, got ${rows.length}`);
    const row = rows[0]!;
    if (row.length > this.fieldnames.length) throw new Error(`CSV row has ${row.length} fields, expected ${this.fieldnames.length}`);
    const out: Record<string, string> = {};
    for (let i = 0; i < this.fieldnames.length; i++) out[this.fieldnames[i]!] = row[i] ?? "";
    return out;
  }
}
