import type { EventContext } from "../core/index.js";
import { BufferEncodingProcessor } from "./BufferEncodingProcessor.js";
import { describeType } from "./StdJsonToDictParser.js";

/** Bytes → string. */
export class BytesToStringParser extends BufferEncodingProcessor {
  process(_context: EventContext, event: unknown): unknown {
    if (!(event instanceof Uint8Array)) throw new TypeError(`BytesToStringParser expects bytes, got ${describeType(event)}`);
    return Buffer.from(event.buffer, event.byteOffset, event.byteLength).toString(this.encoding);
  }
}
