import { textEncodingName, type Application, type ConfigSpec, type Pipeline } from "../core/index.js";
import { badInput } from "../codec/badInput.js";
import { CSVRowParser } from "../codec/CSVRowParser.js";
import { CSV_DIALECT_CONFIG, csvDialect, readerOptions, type CSVDialect } from "../codec/csvdialect.js";
import { csvRecordBuilder, type CSVRecordBuilder } from "../codec/csvrecord.js";
import { HTTPABCClientSource, type HTTPClientSourceOptions } from "./HTTPABCClientSource.js";
import { charsetOf, textDecoder } from "./util.js";

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

/**
 * Emits one object per CSV row (the header row names the fields unless `fieldnames` is given),
 * parsed by CSVRowParser as the body streams in, like every CSV component. A malformed row is bad
 * input (a warning, the dead-letter target); the other rows go on.
 */
export class HTTPClientCSVSource extends HTTPABCClientSource {
  static override ConfigDefaults: ConfigSpec = {
    encoding: { type: "encoding", default: "", doc: "Text encoding; empty: from the response's charset, else utf-8" },
    fieldnames: { type: "list", default: [], doc: "Column names (comma-separated); empty: the first row is the header" },
    ...CSV_DIALECT_CONFIG,
  };

  private readonly dialect: CSVDialect;

  constructor(app: Application, pipeline: Pipeline, options: HTTPClientSourceOptions = {}) {
    super(app, pipeline, options);
    this.dialect = csvDialect(this.config);
  }

  protected async read(response: Response): Promise<void> {
    const configured = this.config.getList("fieldnames");
    let build: CSVRecordBuilder | null = configured.length > 0 ? csvRecordBuilder(configured) : null;
    let width = configured.length;
    const rows: Record<string, unknown>[] = [];
    const strict = this.dialect.strict;
    const bad = (error: Error, line: number, raw: unknown) => badInput(this.pipeline, this.log, this.id, { line }, raw, error);
    const parser = new CSVRowParser(
      readerOptions(this.dialect, { encoding: responseEncoding(this.config.getString("encoding"), response) }),
      (fields, count, line) => {
        if (build === null) {
          build = csvRecordBuilder(fields.slice(0, count));
          width = count;
        } else if (strict && count !== width) bad(new Error(`CSV row has ${count} fields, the header ${width}`), line, fields.slice(0, count));
        else rows.push(build(fields, count));
      },
      bad,
    );
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
        parser.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if (!(await handOver())) return;
      }
    }
    parser.end();
    await handOver();
  }
}

/** The encoding of a body: the configured one, else the response's charset when it is known, else UTF-8. */
function responseEncoding(configured: string, response: Response): string {
  if (configured !== "") return configured;
  const charset = charsetOf(response.headers.get("content-type"));
  return charset !== undefined && textEncodingName(charset) !== null ? charset : "utf-8";
}
