import { ConfigError, Processor, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type TypedConfig, type Pipeline } from "../core/index.js";
import { CSVRowParser } from "../codec/CSVRowParser.js";
import { CSV_DIALECT_CONFIG, csvDialect, readerOptions, type CSVDialect } from "../codec/csvdialect.js";
import { textCodec } from "../codec/text.js";

/** The config of the CSV processors: the dialect, `fieldnames` and the encoding of Buffer input. */
export const CSV_PROCESSOR_CONFIG = {
  fieldnames: { type: "list", default: [] as string[], doc: "Column names; CSVGenerator: empty = the block's first row is the header" },
  ...CSV_DIALECT_CONFIG,
  encoding: { type: "encoding", default: "utf-8", doc: "Encoding of Buffer input" },
} satisfies ConfigSpec;

/**
 * Parsers for the CSV processors: strings are parsed as their UTF-8 bytes, Buffers in `encoding`.
 * Rows go to `onRow`, bad rows to `onError` (CSVRowParser's callbacks).
 */
export function csvParsers(
  dialect: CSVDialect,
  encoding: string,
  onRow: ConstructorParameters<typeof CSVRowParser>[1],
  onError: ConstructorParameters<typeof CSVRowParser>[2],
): { text: CSVRowParser; bytes: CSVRowParser } {
  const text = new CSVRowParser(readerOptions(dialect), onRow, onError);
  const bytes = textCodec(encoding, "CSV encoding").node === "utf8" ? text : new CSVRowParser(readerOptions(dialect, { encoding }), onRow, onError);
  return { text, bytes };
}

/**
 * One CSV line (string or Buffer) in, one object out, keyed by `fieldnames`. Parsed by CSVRowParser
 * like every CSV component. A line that is not one valid CSV row (or has more fields than
 * `fieldnames`) throws, so the pipeline's error rules decide (warning, dead letter or error state).
 */
export class CSVParserProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = CSV_PROCESSOR_CONFIG;
  declare readonly config: TypedConfig<typeof CSV_PROCESSOR_CONFIG>;
  readonly fieldnames: string[];
  private readonly parsers: { text: CSVRowParser; bytes: CSVRowParser };
  private row: string[] | null = null;
  private rows = 0;
  private error: Error | null = null;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.fieldnames = this.config.getList("fieldnames");
    if (this.fieldnames.length === 0) throw new ConfigError(`[${this.config.section}] CSVParserProcessor needs 'fieldnames'`);
    const onRow = (fields: string[], count: number) => {
      this.rows++;
      this.row = fields.slice(0, count);
    };
    const onError = (error: Error) => void (this.error ??= error);
    this.parsers = csvParsers(csvDialect(this.config), this.config.getString("encoding"), onRow, onError);
  }

  process(_context: EventContext, event: unknown): Record<string, string> {
    const parser = typeof event === "string" ? this.parsers.text : Buffer.isBuffer(event) ? this.parsers.bytes : null;
    if (parser === null) throw new TypeError(`CSVParserProcessor expects a string or a Buffer, got ${typeof event}`);
    this.row = null;
    this.rows = 0;
    this.error = null;
    parser.parse(typeof event === "string" ? Buffer.from(event) : (event as Buffer));
    if (this.error !== null) throw this.error;
    if (this.rows !== 1) throw new Error(`CSVParserProcessor expects one CSV row, got ${this.rows}`);
    const row = this.row!;
    if (row.length > this.fieldnames.length) throw new Error(`CSV row has ${row.length} fields, expected ${this.fieldnames.length}`);
    const out: Record<string, string> = {};
    for (let i = 0; i < this.fieldnames.length; i++) out[this.fieldnames[i]!] = row[i] ?? "";
    return out;
  }
}
