import { Parser, type Options as CsvParseOptions } from "csv-parse";
import { type Application, type ComponentOptions, type Pipeline, type ConfigSpec } from "../core/index.js";
import { FileABCSource, type FileEntry } from "./FileABCSource.js";
import { reportBadInput } from "./badInput.js";

export interface FileCSVSourceOptions extends ComponentOptions {
  /** Column names; when not given (nor in config `fieldnames`), the header row supplies them. */
  fieldnames?: string[];
}

/**
 * One object per CSV row (BSPump's FileCSVSource, csv.DictReader): keys from the header row, or
 * from `fieldnames`; values are strings. Parsed by csv-parse's streaming parser fed with large
 * chunks. Context: `{filename, line, receipt}` (`line` is the row's last line in the file).
 * A malformed row is a warning naming file and line (and goes to the dead-letter target, if any);
 * the other rows go on.
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
    strict: { type: "bool", default: false, doc: "Rows whose field count differs from the header are bad input (else kept, as DictReader does)" },
  };

  private readonly csvOptions: CsvParseOptions;

  constructor(app: Application, pipeline: Pipeline, options: FileCSVSourceOptions = {}) {
    super(app, pipeline, options);
    const configured = this.config.getList("fieldnames");
    const fieldnames = options.fieldnames ?? (configured.length > 0 ? configured : undefined);
    const dialect = this.config.getString("dialect");
    let delimiter = this.config.getString("delimiter");
    if (dialect === "excel-tab" && delimiter === ",") delimiter = "\t";
    const quoting = this.config.getInt("quoting");
    const strict = this.config.getBool("strict");
    this.csvOptions = {
      columns: fieldnames ?? true,
      delimiter,
      quote: quoting === 3 ? false : this.config.getString("quotechar"),
      escape: this.config.getBool("doublequote") ? this.config.getString("quotechar") : this.config.getString("escapechar"),
      ltrim: this.config.getBool("skipinitialspace"),
      bom: true,
      skip_empty_lines: true,
      relax_column_count: !strict,
      relax_quotes: !strict,
      skip_records_with_error: true,
      encoding: this.encoding,
    };
  }

  protected override async read(file: FileEntry): Promise<void> {
    const parser = new Parser(this.csvOptions);
    const info = parser.info;
    const filename = file.path;
    const receipt = file.receipt;
    let failure: Error | null = null;
    parser.on("data", (record: Record<string, string>) => {
      this.pipeline.process(record, { filename, line: info.lines, receipt });
    });
    parser.on("skip", (error: Error & { lines?: number }) => {
      reportBadInput(this.pipeline, this.log, this.id, { filename, line: error.lines ?? info.lines, receipt }, null, error);
    });
    parser.on("error", (error: Error) => (failure ??= error));
    const ended = new Promise<void>((resolve) => {
      parser.on("end", resolve);
      parser.on("close", resolve);
    });
    try {
      for await (const chunk of this.chunks(file)) {
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
        parser.write(chunk);
        if (failure !== null) throw failure;
      }
      parser.end();
      await ended;
      if (failure !== null) throw failure;
    } finally {
      parser.removeAllListeners("data");
      parser.destroy();
    }
  }
}
