import { Processor, type EventContext, type ConfigSpec } from "../core/index.js";
import { describeType } from "./StdJsonToDictParser.js";

/** Bytes → string. */
export class BytesToStringParser extends Processor {
  static override ConfigDefaults: ConfigSpec = {
    encoding: { type: "string", default: "utf-8", doc: "Text encoding", choices: ["utf-8", "utf8", "latin1", "ascii", "utf16le"] },
  };

  private readonly encoding = this.config.getString("encoding").replace("utf-8", "utf8") as BufferEncoding;

  process(_context: EventContext, event: unknown): unknown {
    if (!(event instanceof Uint8Array)) throw new TypeError(`BytesToStringParser expects bytes, got ${describeType(event)}`);
    return Buffer.from(event.buffer, event.byteOffset, event.byteLength).toString(this.encoding);
  }
}
