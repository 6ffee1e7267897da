import { ConfigError, type Application, type ComponentOptions, type Pipeline, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { FileLineSource } from "./FileLineSource.js";
import type { FileEntry } from "./FileABCSource.js";
import { badInput } from "../codec/badInput.js";
import { NO_VALUE, parseJSONLine } from "../codec/json.js";

const CONFIG = {
  format: { type: "string", default: "document", choices: ["document", "lines"], doc: "document: the file is one JSON value; lines: one JSON value per line" },
  max_size: { type: "int", default: 268435456, doc: "Largest document read (bytes, after decompression) in document mode" },
} satisfies ConfigSpec;

/**
 * JSON files. `format: document` (BSPump): the whole file is one JSON document and one event (up to
 * `max_size` bytes, so memory stays bounded). `format: lines`: JSON lines, one event per line, read
 * in streaming fashion. Malformed JSON is a warning naming file and line (or the document), sent to
 * the dead-letter target if any; a malformed document also leaves the file as `-failed`.
 */
export class FileJSONSource extends FileLineSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileLineSource["config"];

  readonly format: "document" | "lines";
  readonly maxSize: number;
  /** Empty lines skipped in `lines` format. */
  emptyLines = 0;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.format = this.config.getString("format") as "document" | "lines";
    this.maxSize = this.config.getInt("max_size");
    if (this.mode === "rb" && this.format === "lines") throw new ConfigError(`[${this.config.section}] format 'lines' needs mode 'r'`);
  }

  protected override async read(file: FileEntry): Promise<void> {
    if (this.format === "lines") return super.read(file);
    const text = this.codec.decode(await readWhole(this, file, this.maxSize));
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      badInput(this.pipeline, this.log, this.id, { filename: file.path, receipt: file.receipt }, text.length > 4096 ? text.slice(0, 4096) : text, e);
      throw e;
    }
    if (!(await this.waitReady())) return;
    this.pipeline.process(value, { filename: file.path, receipt: file.receipt });
  }

  /** Empty lines are skipped (counted in `emptyLines`), as NDJSON allows; other lines are JSON values. */
  override emitLine(line: string | Buffer, lineNo: number, file: FileEntry): void {
    let value: unknown;
    try {
      value = parseJSONLine(line as string);
    } catch (e) {
      badInput(this.pipeline, this.log, this.id, { filename: file.path, line: lineNo, receipt: file.receipt }, line, e);
      return;
    }
    if (value === NO_VALUE) this.emptyLines++;
    else this.pipeline.process(value, { filename: file.path, line: lineNo, receipt: file.receipt });
  }
}

/** Reads a whole (decompressed) file, refusing more than `maxSize` bytes. */
export async function readWhole(source: { chunksOf(file: FileEntry): AsyncIterable<Buffer> }, file: FileEntry, maxSize: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of source.chunksOf(file)) {
    size += chunk.length;
    if (size > maxSize) throw new Error(`'${file.path}' is larger than max_size (${maxSize} bytes)`);
    parts.push(chunk);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}
