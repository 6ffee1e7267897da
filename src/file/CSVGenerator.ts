import type { Options } from "csv-parse/sync";
import { Generator, type Application, type ConfigSpec, type EventContext, type Pipeline, dependency } from "../core/index.js";
import { CSV_PROCESSOR_DEFAULTS, csvOptions, type CSVProcessorOptions } from "./CSVParserProcessor.js";

const csvParseSync = dependency<typeof import("csv-parse/sync")>("csv-parse/sync");

/**
 * A CSV block (string or Buffer) in, one event per row out, the columns as keys (the seed's "CSV
 * generator"): the header is the block's first row unless `fieldnames` is given. Each row's
 * context has `line` (within the block). A malformed row is a warning with its line (and goes to
 * the dead-letter target); the other rows go on.
 */
export class CSVGenerator extends Generator {
  static override ConfigDefaults: ConfigSpec = {
    ...CSV_PROCESSOR_DEFAULTS,
    strict: { type: "bool", default: false, doc: "Rows with a different number of fields than the header are bad input" },
  };
  readonly fieldnames: string[] | null;
  private readonly options: Options;
  private readonly encoding: BufferEncoding;

  constructor(app: Application, pipeline: Pipeline, options: CSVProcessorOptions = {}) {
    super(app, pipeline, options);
    const configured = options.fieldnames ?? this.config.getList("fieldnames");
    this.fieldnames = configured.length > 0 ? configured : null;
    this.options = { ...csvOptions(this.config, this.config.getBool("strict")), relax_quotes: !this.config.getBool("strict"), skip_records_with_error: true };
    this.encoding = this.config.getString("encoding") as BufferEncoding;
  }

  generate(context: EventContext, event: unknown, depth: number): void {
    const text = typeof event === "string" ? event : Buffer.isBuffer(event) ? event.toString(this.encoding) : null;
    if (text === null) throw new TypeError(`CSVGenerator expects a string or a Buffer, got ${typeof event}`);
    const rows: { record: string[]; lines: number }[] = [];
    csvParseSync().parse(text, {
      ...this.options,
      columns: false,
      on_record: (record: string[], info: { lines: number }) => {
        rows.push({ record, lines: info.lines });
        return null;
      },
      on_skip: (error) => {
        const line = (error as { lines?: number } | undefined)?.lines;
        this.pipeline.badInput({ ...context, line }, text, error ?? new Error("Malformed CSV row"), this);
        return undefined;
      },
    });
    let fields = this.fieldnames;
    let start = 0;
    if (fields === null) {
      if (rows.length === 0) return;
      fields = rows[0]!.record;
      start = 1;
    }
    for (let r = start; r < rows.length; r++) {
      const { record, lines } = rows[r]!;
      const out: Record<string, string> = {};
      for (let i = 0; i < fields.length; i++) out[fields[i]!] = record[i] ?? "";
      this.pipeline.inject({ ...context, line: lines }, out, depth);
    }
  }
}
