import { ConfigError, toError, type Application, type ComponentOptions, type Pipeline, type ConfigSpec } from "../core/index.js";
import { CSVRowParser, dialectCodes, type CSVRowParserOptions } from "./CSVRowParser.js";
import { FileABCSource, type FileEntry } from "./FileABCSource.js";

export interface FileCSVSourceOptions extends ComponentOptions {
  /** Column names; when not given (nor in config `fieldnames`), the header row supplies them. */
  fieldnames?: string[];
}

/**
 * One object per CSV row (BSPump's FileCSVSource, csv.DictReader): keys from the header row, or
 * from `fieldnames`; values are strings. A row with fewer fields than the header gets null for
 * the missing ones, a row with more gets the extra values as a list under the key "null" (DictReader's
 * restval / restkey None); with `strict`, both are bad input. Parsed by `CSVRowParser` on the bytes
 * read (Python csv reader semantics). Context: `{filename, line, receipt}` (`line` is the row's last
 * line in the file). A malformed row is a warning naming file and line (and goes to the dead-letter
 * target, if any); the other rows go on.
 */
export class FileCSVSource extends FileABCSource {
  static override ConfigDefaults: ConfigSpec = {
    fieldnames: { type: "list", default: [] as string[], doc: "Column names (comma-separated); empty: the first row is the header" },
    dialect: { type: "string", default: "excel", choices: ["excel", "excel-tab", "unix"], doc: "Python csv dialect: excel (',' and CRLF), excel-tab (TAB), unix" },
    delimiter: { type: "string", default: ",", doc: "Field delimiter (excel-tab dialect: TAB)" },
    doublequote: { type: "bool", default: true, doc: "A quote inside a quoted field is written as two quotes" },
    escapechar: { type: "string", default: "\\", doc: "Escape character used when doublequote is false" },
    lineterminator: { type: "string", default: "\n", doc: "Accepted for compatibility; rows end at \\n or \\r\\n" },
    quotechar: { type: "string", default: '"', doc: "Quote character" },
    quoting: { type: "int", default: 0, doc: "Python csv quoting 0..3; 3 (QUOTE_NONE) turns quoting off" },
    skipinitialspace: { type: "bool", default: false, doc: "Ignore spaces right after a delimiter" },
    strict: { type: "bool", default: false, doc: "Rows whose field count differs from the header, and text right after a closing quote, are bad input (else kept, as csv.DictReader does)" },
  };

  private readonly parserOptions: CSVRowParserOptions;
  private readonly fieldnames: string[] | null;
  private readonly strictCount: boolean;

  constructor(app: Application, pipeline: Pipeline, options: FileCSVSourceOptions = {}) {
    super(app, pipeline, options);
    const configured = this.config.getList("fieldnames");
    this.fieldnames = options.fieldnames ?? (configured.length > 0 ? configured : null);
    const dialect = this.config.getString("dialect");
    let delimiter = this.config.getString("delimiter");
    if (dialect === "excel-tab" && delimiter === ",") delimiter = "\t";
    const doublequote = this.config.getBool("doublequote");
    this.strictCount = this.config.getBool("strict");
    this.parserOptions = {
      delimiter,
      quotechar: this.config.getInt("quoting") === 3 ? "" : this.config.getString("quotechar"),
      escapechar: doublequote ? "" : this.config.getString("escapechar"),
      doublequote,
      skipinitialspace: this.config.getBool("skipinitialspace"),
      strict: this.strictCount,
      encoding: this.encoding,
    };
    try {
      dialectCodes(this.parserOptions);
    } catch (e) {
      throw new ConfigError(`[${this.config.section}] ${toError(e).message}`);
    }
  }

  protected override async read(file: FileEntry): Promise<void> {
    const filename = file.path;
    const receipt = file.receipt;
    const pipeline = this.pipeline;
    const strict = this.strictCount;
    let names: string[] | null = this.fieldnames;
    let build: RowBuilder | null = names === null ? null : rowBuilder(names);
    const bad = (error: Error, line: number, raw: unknown) => pipeline.badInput({ filename, line, receipt }, raw, error, this);
    const parser = new CSVRowParser(
      this.parserOptions,
      (fields, count, line) => {
        if (build === null) {
          names = fields.slice(0, count);
          build = rowBuilder(names);
          return;
        }
        if (strict && count !== names!.length) {
          bad(new Error(`CSV row has ${count} fields, the header ${names!.length}`), line, fields.slice(0, count));
          return;
        }
        pipeline.process(build(fields, count), { filename, line, receipt });
      },
      bad,
    );
    // The parser copies what it keeps, so the chunks can come from a ring of reused buffers.
    for await (const chunk of this.chunks(file, true)) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      parser.push(chunk);
    }
    parser.end();
  }
}

/** Makes the event of a row: keys from the header, as csv.DictReader (missing values are null, extra values a list under "null"). */
type RowBuilder = (fields: string[], count: number) => Record<string, unknown>;

function rowBuilder(names: string[]): RowBuilder {
  const n = names.length;
  if (names.includes("__proto__")) {
    return (fields, count) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) Object.defineProperty(row, names[i]!, { value: i < count ? fields[i] : null, enumerable: true, writable: true, configurable: true });
      if (count > n) row["null"] = fields.slice(n, count);
      return row;
    };
  }
  return (fields, count) => {
    const row: Record<string, unknown> = {};
    if (count === n) {
      for (let i = 0; i < n; i++) row[names[i]!] = fields[i];
      return row;
    }
    for (let i = 0; i < n; i++) row[names[i]!] = i < count ? fields[i] : null;
    if (count > n) row["null"] = fields.slice(n, count);
    return row;
  };
}
