import type { Application, ComponentOptions, Pipeline, ConfigSpec, TypedConfig } from "../core/index.js";
import { CSVRowParser } from "../codec/CSVRowParser.js";
import { CSV_DIALECT_CONFIG, csvDialect, readerOptions } from "../codec/csvdialect.js";
import { maxLineLengthKey } from "../codec/lines.js";
import { badInput } from "../codec/badInput.js";
import { csvRecordBuilder, type CSVRecordBuilder } from "../codec/csvrecord.js";
import { FileABCSource, type FileEntry } from "./FileABCSource.js";

const CONFIG = {
  fieldnames: { type: "list", default: [] as string[], doc: "Column names (comma-separated); empty: the first row is the header" },
  ...CSV_DIALECT_CONFIG,
  max_line_length: maxLineLengthKey(16 * 1048576),
} satisfies ConfigSpec;

/**
 * One object per CSV row (BSPump's FileCSVSource, csv.DictReader): keys from the header row, or
 * from `fieldnames`; values are strings. A row with fewer fields than the header gets null for
 * the missing ones, a row with more gets the extra values as a list under the key "null" (DictReader's
 * restval / restkey None); with `strict`, both are bad input. Parsed by `CSVRowParser` on the bytes
 * read (Python csv reader semantics). Context: `{filename, line, receipt}` (`line` is the row's last
 * line in the file). A malformed row, or a row over `max_line_length` bytes without a line end, is
 * a warning naming file and line (and goes to the dead-letter target, if any); the other rows go on.
 */
export class FileCSVSource extends FileABCSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileABCSource["config"];

  private readonly parserOptions: ReturnType<typeof readerOptions>;
  private readonly fieldnames: string[] | null;
  private readonly strictCount: boolean;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const configured = this.config.getList("fieldnames");
    this.fieldnames = configured.length > 0 ? configured : null;
    const dialect = csvDialect(this.config);
    this.strictCount = dialect.strict;
    this.parserOptions = readerOptions(dialect, { encoding: this.codec.name, maxRowLength: this.config.getInt("max_line_length") });
  }

  protected override async read(file: FileEntry): Promise<void> {
    const filename = file.path;
    const receipt = file.receipt;
    const pipeline = this.pipeline;
    const strict = this.strictCount;
    let names: string[] | null = this.fieldnames;
    let build: CSVRecordBuilder | null = names === null ? null : csvRecordBuilder(names);
    const bad = (error: Error, line: number, raw: unknown) => badInput(pipeline, this.log, this.id, { filename, line, receipt }, raw, error);
    const parser = new CSVRowParser(
      this.parserOptions,
      (fields, count, line) => {
        if (build === null) {
          names = fields.slice(0, count);
          build = csvRecordBuilder(names);
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
    // A chunk holds thousands of rows: the parser stops after the row during which the pipeline
    // stopped being ready (an error, a throttle), not at the chunk's end. Told by the (synchronous)
    // not_ready! message, so the rows cost nothing more than the parser's own check of its flag.
    const pause = (): void => parser.pause();
    pipeline.pubsub.subscribe("bspump.pipeline.not_ready!", pause);
    try {
      // The parser copies what it keeps, so the chunks can come from a ring of reused buffers.
      for await (const chunk of this.chunks(file, true)) {
        const go = this.whenReady();
        if (go !== true && !(await go)) return;
        if (!parser.push(chunk) && !(await this.resumed(parser))) return;
      }
      if (!parser.end()) await this.resumed(parser);
    } finally {
      pipeline.pubsub.unsubscribe("bspump.pipeline.not_ready!", pause);
    }
  }

  /** Resumes a paused parser whenever the pipeline is ready again; false when reading stops (a stop, an error). */
  private async resumed(parser: CSVRowParser): Promise<boolean> {
    do {
      const go = this.whenReady();
      if (go !== true && !(await go)) return false;
    } while (!parser.resume());
    return true;
  }
}
