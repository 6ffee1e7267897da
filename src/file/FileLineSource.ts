import type { Application, ComponentOptions, ConfigSpec, TypedConfig, EventContext, Pipeline } from "../core/index.js";
import { LineFramer, maxLineLengthKey, type LineTarget } from "../codec/lines.js";
import { badInput } from "../codec/badInput.js";
import { FileABCSource, type FileEntry } from "./FileABCSource.js";

/** Default longest line of a file: large (a JSON line may be big), yet bounded (a file with no newline). */
const MAX_LINE_LENGTH = 16 * 1048576;

const CONFIG = {
  max_line_length: maxLineLengthKey(MAX_LINE_LENGTH),
} satisfies ConfigSpec;

/**
 * One event per line (BSPump's FileLineSource), without the line terminator (`\n` or `\r\n`).
 * Mode 'r' (default) gives strings decoded with `encoding`; 'rb' gives Buffers (views into the read
 * buffer, no copy). Context: `{filename, line, receipt}`, lines numbered from 1. Empty lines are
 * events too. A line longer than `max_line_length` is bad input (a warning naming file and line,
 * the dead-letter target); the lines after it go on.
 *
 * Framed by the codec layer's LineFramer (src/codec/lines.ts), reading large Buffers (several in flight).
 */
export class FileLineSource extends FileABCSource implements LineTarget<FileEntry> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileABCSource["config"];

  private readonly framer: LineFramer<FileEntry>;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const maxLength = this.config.getInt("max_line_length");
    if (this.mode !== "rb" && this.codec.node === null) {
      // An encoding only the WHATWG decoder knows: lines are cut on bytes and decoded one by one.
      const codec = this.codec;
      const target: LineTarget<FileEntry> = {
        whenReady: () => this.whenReady(),
        emitLine: (line, lineNo, file) => this.emitLine(codec.decode(line as Buffer), lineNo, file),
        lineTooLong: (lineNo, head, length, file) => this.lineTooLong(lineNo, head, length, file),
      };
      this.framer = new LineFramer(target, { encoding: null, maxLength });
    } else {
      this.framer = new LineFramer<FileEntry>(this, { encoding: this.mode === "rb" ? null : this.encoding, maxLength });
    }
  }

  protected override read(file: FileEntry): void | Promise<void> {
    // Text mode decodes every line before the next read lands, so it may read into reused buffers
    // (the framer copies what it carries); bytes mode hands over views and needs a fresh buffer per read.
    const reuse = this.mode !== "rb";
    const whole = this.smallFile(file, reuse);
    const framed = whole !== null ? this.framer.frameWhole(whole, file) : this.framer.frame(this.chunks(file, reuse), file);
    if (framed === true) this.endOfFile(file);
    else if (framed !== false) return framed.then((complete) => void (complete && this.endOfFile(file)));
  }

  /** Hands one line over: override to change the event (FileMultiLineSource, FileJSONSource do). */
  emitLine(line: string | Buffer, lineNo: number, file: FileEntry): void {
    const context: EventContext = { filename: file.path, line: lineNo, receipt: file.receipt };
    this.pipeline.process(line, context);
  }

  /** A line over `max_line_length`: bad input (it is not handed over). */
  lineTooLong(lineNo: number, head: Buffer, length: number, file: FileEntry): void {
    const raw = this.mode === "rb" ? head : this.codec.decode(head);
    badInput(this.pipeline, this.log, this.id, { filename: file.path, line: lineNo, receipt: file.receipt }, raw, new Error(`line longer than max_line_length (${length} > ${this.config.getInt("max_line_length")} bytes)`));
  }

  /** Called after the last line of a file. */
  protected endOfFile(_file: FileEntry): void {}
}
