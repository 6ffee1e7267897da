import { Generator, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type TypedConfig, type Pipeline } from "../core/index.js";
import type { CSVRowParser } from "../codec/CSVRowParser.js";
import { csvDialect } from "../codec/csvdialect.js";
import { badInput } from "../codec/badInput.js";
import { CSV_PROCESSOR_CONFIG, csvParsers } from "./CSVParserProcessor.js";

/**
 * A CSV block (string or Buffer) in, one event per row out, the columns as keys (the seed's "CSV
 * generator"): the header is the block's first row unless `fieldnames` is given. Each row's
 * context has `line` (the row's last line within the block). A malformed row (and, with `strict`,
 * a row whose field count differs from the header) is bad input holding that row's text: a warning
 * with its line, and a dead letter when the pipeline has a target; the other rows go on.
 */
export class CSVGenerator extends Generator {
  static override ConfigDefaults: ConfigSpec = CSV_PROCESSOR_CONFIG;
  declare readonly config: TypedConfig<typeof CSV_PROCESSOR_CONFIG>;
  readonly fieldnames: string[] | null;
  private readonly parsers: { text: CSVRowParser; bytes: CSVRowParser };
  private readonly strict: boolean;
  /** The block being parsed: what the row callbacks need. */
  private names: string[] | null = null;
  private context: EventContext = {};
  private blockDepth = 0;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const configured = this.config.getList("fieldnames");
    this.fieldnames = configured.length > 0 ? configured : null;
    const dialect = csvDialect(this.config);
    this.strict = dialect.strict;
    this.parsers = csvParsers(dialect, this.config.getString("encoding"), (fields, count, line) => this.row(fields, count, line), (error, line, raw) => this.bad(error, line, raw));
  }

  generate(context: EventContext, event: unknown, depth: number): void {
    const parser = typeof event === "string" ? this.parsers.text : Buffer.isBuffer(event) ? this.parsers.bytes : null;
    if (parser === null) throw new TypeError(`CSVGenerator expects a string or a Buffer, got ${typeof event}`);
    this.names = this.fieldnames;
    this.context = context;
    this.blockDepth = depth;
    parser.parse(typeof event === "string" ? Buffer.from(event) : (event as Buffer));
  }

  private row(fields: string[], count: number, line: number): void {
    const names = this.names;
    if (names === null) {
      this.names = fields.slice(0, count);
      return;
    }
    if (this.strict && count !== names.length) {
      this.bad(new Error(`CSV row has ${count} fields, the header ${names.length}`), line, fields.slice(0, count));
      return;
    }
    const out: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) out[names[i]!] = i < count ? fields[i]! : "";
    this.pipeline.inject({ ...this.context, line }, out, this.blockDepth);
  }

  private bad(error: Error, line: number, raw: unknown): void {
    badInput(this.pipeline, this.pipeline.log, this.id, { ...this.context, line }, raw, error);
  }
}
