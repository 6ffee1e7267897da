import type { ConfigSpec, TypedConfig, EventContext, Application, ComponentOptions, Pipeline } from "../core/index.js";
import { FileBufferedSink } from "./FileBufferedSink.js";

const CONFIG = {
  line_terminator: { type: "string", default: "\n", doc: "Appended to each event" },
} satisfies ConfigSpec;

/** Writes each event as a line: strings as they are, Buffers as bytes, other values as JSON. */
export class FileLineSink extends FileBufferedSink {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & FileBufferedSink["config"];

  private readonly terminator: string;
  private readonly terminatorBytes: Buffer;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.terminator = this.config.getString("line_terminator");
    this.terminatorBytes = Buffer.from(this.terminator, this.encoding);
  }

  protected serialize(_context: EventContext, event: unknown): string | Buffer {
    if (typeof event === "string") return event + this.terminator;
    if (Buffer.isBuffer(event)) return Buffer.concat([event, this.terminatorBytes]);
    if (event instanceof Uint8Array) return Buffer.concat([event, this.terminatorBytes]);
    return JSON.stringify(event) + this.terminator;
  }
}
