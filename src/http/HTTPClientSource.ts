import type { Application, ConfigSpec, Pipeline, TypedConfig } from "../core/index.js";
import { badInput } from "../codec/badInput.js";
import { CSVRowParser } from "../codec/CSVRowParser.js";
import { CSV_DIALECT_CONFIG, csvDialect, readerOptions, type CSVDialect } from "../codec/csvdialect.js";
import { csvRecordBuilder, type CSVRecordBuilder } from "../codec/csvrecord.js";
import { HTTPABCClientSource, type HTTPClientSourceOptions } from "./HTTPABCClientSource.js";
import { bodyCodec } from "./util.js";
import { LineFramer, framingEncoding, maxLineLengthKey, type LineTarget } from "../codec/lines.js";
import type { TextCodec } from "../codec/text.js";

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

const HTTP_CLIENT_TEXT_SOURCE_CONFIG = {
  encoding: { type: "encoding", default: "", doc: "Text encoding; empty: from the response's charset, else utf-8" },
} satisfies ConfigSpec;

/** Emits the whole body as one string, decoded with `encoding` (empty: the response charset, else UTF-8). */
export class HTTPClientTextSource extends HTTPABCClientSource {
  static override ConfigDefaults: ConfigSpec = HTTP_CLIENT_TEXT_SOURCE_CONFIG;
  declare readonly config: TypedConfig<typeof HTTP_CLIENT_TEXT_SOURCE_CONFIG> & HTTPABCClientSource["config"];

  protected async read(response: Response): Promise<void> {
    const codec = bodyCodec(this.config.getString("encoding"), response.headers.get("content-type"), `[${this.config.section}] encoding`);
    const body = new Uint8Array(await response.arrayBuffer());
    this.stats.bytes += body.length;
    const go = this.whenReady();
    if (go !== true && !(await go)) return;
    this.pipeline.process(codec.decode(body));
  }
}

/** What a line of a response needs: the codec that decodes it when the framer does not. */
type Body = { codec: TextCodec | null };

const HTTP_CLIENT_LINE_SOURCE_CONFIG = {
  encoding: { type: "encoding", default: "", doc: "Text encoding; empty: from the response's charset, else utf-8" },
  max_line_length: maxLineLengthKey(16 * 1048576),
} satisfies ConfigSpec;

/**
 * Emits one event per `\n`-separated line, right-stripped, read as the body streams in (a slow
 * pipeline slows the download). Framed by the codec layer (src/codec/lines.ts): empty lines are
 * events; a trailing empty line after the last `\n` is not (unlike BSPump); a line over
 * `max_line_length` bytes is bad input.
 */
export class HTTPClientLineSource extends HTTPABCClientSource implements LineTarget<Body> {
  static override ConfigDefaults: ConfigSpec = HTTP_CLIENT_LINE_SOURCE_CONFIG;
  declare readonly config: TypedConfig<typeof HTTP_CLIENT_LINE_SOURCE_CONFIG> & HTTPABCClientSource["config"];

  protected async read(response: Response): Promise<void> {
    const codec = bodyCodec(this.config.getString("encoding"), response.headers.get("content-type"), `[${this.config.section}] encoding`);
    if (response.body === null) return;
    const encoding = framingEncoding(codec);
    const framer = new LineFramer<Body>(this, { encoding, maxLength: this.config.getInt("max_line_length") });
    await framer.frame(this.bodyChunks(response.body as unknown as AsyncIterable<Uint8Array>), { codec: encoding === null ? codec : null });
  }

  private async *bodyChunks(body: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      this.stats.bytes += chunk.length;
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  }

  emitLine(line: string | Buffer, _lineNo: number, body: Body): void {
    this.pipeline.process((typeof line === "string" ? line : body.codec!.decode(line)).trimEnd());
  }

  lineTooLong(lineNo: number, head: Buffer, length: number): void {
    badInput(this.pipeline, this.log, this.id, { line: lineNo }, head, new Error(`line longer than max_line_length (${length} bytes)`));
  }
}

const HTTP_CLIENT_CSV_SOURCE_CONFIG = {
  encoding: { type: "encoding", default: "", doc: "Text encoding; empty: from the response's charset, else utf-8" },
  fieldnames: { type: "list", default: [], doc: "Column names (comma-separated); empty: the first row is the header" },
  ...CSV_DIALECT_CONFIG,
} satisfies ConfigSpec;

/**
 * Emits one object per CSV row (the header row names the fields unless `fieldnames` is given),
 * parsed by CSVRowParser as the body streams in, like every CSV component. A malformed row is bad
 * input (a warning, the dead-letter target); the other rows go on.
 */
export class HTTPClientCSVSource extends HTTPABCClientSource {
  static override ConfigDefaults: ConfigSpec = HTTP_CLIENT_CSV_SOURCE_CONFIG;
  declare readonly config: TypedConfig<typeof HTTP_CLIENT_CSV_SOURCE_CONFIG> & HTTPABCClientSource["config"];

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
      readerOptions(this.dialect, { encoding: bodyCodec(this.config.getString("encoding"), response.headers.get("content-type"), `[${this.config.section}] encoding`).name }),
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
