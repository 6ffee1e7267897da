import type { EventContext } from "../core/index.js";
import { BufferEncodingProcessor } from "./BufferEncodingProcessor.js";
import { describeType } from "./StdJsonToDictParser.js";

/** String → bytes (a Buffer). */
export class StringToBytesParser extends BufferEncodingProcessor {
  process(_context: EventContext, event: unknown): unknown {
    if (typeof event !== "string") throw new TypeError(`StringToBytesParser expects a string, got ${describeType(event)}`);
    return Buffer.from(event, this.encoding);
  }
}
