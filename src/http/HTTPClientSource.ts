import type { Options as CsvParseOptions } from "csv-parse";
import type { Application, ConfigSpec, Pipeline } from "../core/index.js";
import { HTTPABCClientSource, type HTTPClientSourceOptions } from "./HTTPABCClientSource.js";
import { textDecoder } from "./util.js";
import { dependency } from "../core/index.js";

const csvParse = dependency<typeof import("csv-parse")>("csv-parse");

/** Emits the whole response body as one event (a Buffer). */
export class HTTPClientSource extends HTTPABCClientSource {
  protected async read(response: Response): Promise<void> {
    const body = Buffer.from(await response.arrayBuffer());
    this.stats.bytes += body.length;
    const go = this.whenReady();
    if (go !== true && !(await go)) return;
    this.pipeline.process(body);
  }
}

/** Emits the whole body as one string, decoded with `encoding` (empty: the response charset, else UTF-8). */
export class HTTPClientTextSource extends HTTPABCClientSource {
  static override ConfigDefaults: ConfigSpec = {
    encoding: { type: "string", default: "", doc: "Text encoding; empty: from the response's charset, else utf-8" },
  };

  protected async read(response: Response): Promise<void> {
    const decoder = textDecoder(this.config.getString("encoding"), response.headers.get("content-type"), `[${this.config.section}] encoding`);
    const body = new Uint8Array(await response.arrayBuffer());
    this.stats.bytes += body.length;
    const go = this.whenReady();
    if (go !== true && !(await go)) return;
    this.pipeline.process(decoder.decode(body));
  }
}

/**
 * Emits one event per `\n`-separated line, right-stripped, read as the body streams in (a slow
 * pipeline slows the download). Unlike BSPump, a trailing empty line after the last `\n` is not
 * emitted.
 */
export class HTTPClientLineSource extends HTTPABCClientSource {
  static override ConfigDefaults: ConfigSpec = {
    encoding: { type: "string", default: "", doc: "Text encoding; empty: from the response's charset, else utf-8" },
  };

  protected async read(response: Response): Promise<void> {
    const decoder = textDecoder(this.config.getString("encoding"), response.headers.get("content-type"), `[${this.config.section}] encoding`);
    let rest = "";
    const emit = async (line: string): Promise<boolean> => {
      const go = this.whenReady();
      if (go !== true && !(await go)) return false;
      this.pipeline.process(line.trimEnd());
      return true;
    };
    if (response.body === null) return;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      this.stats.bytes += chunk.length;
      const text = rest + decoder.decode(chunk, { stream: true });
      let start = 0;
      let nl = text.indexOf("\n");
      while (nl >= 0) {
        if (!(await emit(text.slice(start, nl)))) return;
        start = nl + 1;
        nl = text.indexOf("\n", start);
      }
      rest = text.slice(start);
    }
    rest += decoder.decode();
    if (rest !== "") await emit(rest);
  }
}

export interface HTTPClientCSVSourceOptions extends HTTPClientSourceOptions {
  fieldnames?: string[];
}

/** Emits one object per CSV row (the header row names the fields unless `fieldnames` is given). */
export class HTTPClientCSVSource extends HTTPABCClientSource {
  static override ConfigDefaults: ConfigSpec = {
    encoding: { type: "string", default: "", doc: "Text encoding; empty: from the response's charset, else utf-8" },
    fieldnames: { type: "list", default: [], doc: "Column names (comma-separated); empty: the first row is the header" },
    dialect: { type: "string", default: "excel", choices: ["excel", "excel-tab", "unix"], doc: "Python csv dialect" },
    delimiter: { type: "string", default: ",", doc: "Field delimiter (excel-tab dialect: TAB)" },
    doublequote: { type: "bool", default: true, doc: "A quote inside a quoted field is written as two quotes" },
    escapechar: { type: "string", default: "\\", doc: "Escape character used when doublequote is false" },
    lineterminator: { type: "string", default: "\n", doc: "Accepted for compatibility; rows end at \\n or \\r\\n" },
    quotechar: { type: "string", default: '"', doc: "Quote character" },
    quoting: { type: "int", default: 0, doc: "Python csv quoting 0..3; 3 (QUOTE_NONE) turns quoting off" },
    skipinitialspace: { type: "bool", default: false, doc: "Ignore spaces right after a delimiter" },
    strict: { type: "bool", default: false, doc: "Rows whose field count differs from the header are errors" },
  };

  private readonly csvOptions: CsvParseOptions;

  constructor(app: Application, pipeline: Pipeline, options: HTTPClientCSVSourceOptions = {}) {
    super(app, pipeline, options);
    const configured = this.config.getList("fieldnames");
    const fieldnames = options.fieldnames ?? (configured.length > 0 ? configured : undefined);
    let delimiter = this.config.getString("delimiter");
    if (this.config.getString("dialect") === "excel-tab" && delimiter === ",") delimiter = "\t";
    const strict = this.config.getBool("strict");
    this.csvOptions = {
      columns: fieldnames ?? true,
      delimiter,
      quote: this.config.getInt("quoting") === 3 ? false : this.config.getString("quotechar"),
      escape: this.config.getBool("doublequote") ? this.config.getString("quotechar") : this.config.getString("escapechar"),
      ltrim: this.config.getBool("skipinitialspace"),
      bom: true,
      skip_empty_lines: true,
      relax_column_count: !strict,
      relax_quotes: !strict,
    };
  }

  protected async read(response: Response): Promise<void> {
    const decoder = textDecoder(this.config.getString("encoding"), response.headers.get("content-type"), `[${this.config.section}] encoding`);
    const parser = new (csvParse().Parser)(this.csvOptions);
    const rows: Record<string, string>[] = [];
    let failure: Error | null = null;
    parser.on("readable", () => {
      let record: Record<string, string> | null;
      while ((record = parser.read() as Record<string, string> | null) !== null) rows.push(record);
    });
    parser.on("error", (e: Error) => (failure ??= e));
    const ended = new Promise<void>((resolve) => parser.on("end", resolve));
    const handOver = async (): Promise<boolean> => {
      for (let i = 0; i < rows.length; i++) {
        const go = this.whenReady();
        if (go !== true && !(await go)) return false;
        this.pipeline.process(rows[i]);
      }
      rows.length = 0;
      return true;
    };
    if (response.body !== null) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        this.stats.bytes += chunk.length;
        parser.write(decoder.decode(chunk, { stream: true }));
        if (failure !== null) throw failure;
        await new Promise((r) => setImmediate(r));
        if (!(await handOver())) return;
      }
    }
    parser.end(decoder.decode());
    await ended;
    if (failure !== null) throw failure;
    await handOver();
  }
}
