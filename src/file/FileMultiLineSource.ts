import type { Application, ComponentOptions, Pipeline, ConfigSpec, TypedConfig } from "../core/index.js";
import { FileLineSource } from "./FileLineSource.js";
import type { FileEntry } from "./FileABCSource.js";
import type { Receipt } from "../core/index.js";

export interface FileMultiLineSourceOptions extends ComponentOptions {
  separator?: string;
}

const CONFIG = {
  separator: { type: "string", default: "", doc: "Prefix of the first line of each event" },
} satisfies ConfigSpec;

/**
 * Joins continuation lines (BSPump's FileMultiLineSource): a line that starts with `separator`
 * begins a new event; other lines are appended with "\n". Every event carries `{filename, line}`
 * (`line` of its first line) — BSPump left the context off all but the last event [BUG].
 */
export class FileMultiLineSource extends FileLineSource {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileLineSource["config"];

  readonly separator: string;
  private readonly separatorBytes: Buffer;
  private pending: (string | Buffer)[] = [];
  private pendingLine = 0;

  constructor(app: Application, pipeline: Pipeline, separator?: string | FileMultiLineSourceOptions, options: FileMultiLineSourceOptions = {}) {
    const opts = typeof separator === "object" ? separator : options;
    super(app, pipeline, opts);
    this.separator = (typeof separator === "string" ? separator : undefined) ?? opts.separator ?? this.config.getString("separator");
    this.separatorBytes = Buffer.from(this.separator, this.encoding);
  }

  override emitLine(line: string | Buffer, lineNo: number, file: FileEntry): void {
    const starts = typeof line === "string" ? line.startsWith(this.separator) : line.subarray(0, this.separatorBytes.length).equals(this.separatorBytes);
    if (starts && this.pending.length > 0) this.flushPending(file.path, file.receipt);
    if (this.pending.length === 0) this.pendingLine = lineNo;
    this.pending.push(line);
  }

  protected override endOfFile(file: FileEntry): void {
    if (this.pending.length > 0) this.flushPending(file.path, file.receipt);
  }

  private flushPending(filename: string, receipt: Receipt): void {
    const parts = this.pending;
    this.pending = [];
    const event = typeof parts[0] === "string" ? (parts as string[]).join("\n") : Buffer.concat(joinBytes(parts as Buffer[]));
    this.pipeline.process(event, { filename, line: this.pendingLine, receipt });
  }

  protected override async read(file: FileEntry): Promise<void> {
    this.pending = [];
    await super.read(file);
    this.pending = [];
  }
}

function joinBytes(parts: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  const nl = Buffer.from("\n");
  parts.forEach((p, i) => {
    if (i > 0) out.push(nl);
    out.push(p);
  });
  return out;
}
