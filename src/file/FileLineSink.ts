import type { ConfigSpec, EventContext } from "../core/index.js";
import { FileBufferedSink } from "./FileBufferedSink.js";

/** Writes each event as a line: strings as they are, Buffers as bytes, other values as JSON. */
export class FileLineSink extends FileBufferedSink {
  static override ConfigDefaults: ConfigSpec = {
    line_terminator: { type: "string", default: "\n", doc: "Appended to each event" },
  };

  private readonly terminator = this.config.getString("line_terminator");
  private readonly terminatorBytes = Buffer.from(this.terminator, this.encoding);

  protected serialize(_context: EventContext, event: unknown): string | Buffer {
    if (typeof event === "string") return event + this.terminator;
    if (Buffer.isBuffer(event)) return Buffer.concat([event, this.terminatorBytes]);
    if (event instanceof Uint8Array) return Buffer.concat([event, this.terminatorBytes]);
    return JSON.stringify(event) + this.terminator;
  }
}
