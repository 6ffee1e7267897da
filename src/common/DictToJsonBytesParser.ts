import type { EventContext } from "../core/index.js";
import { BufferEncodingProcessor } from "./BufferEncodingProcessor.js";
import { describeType } from "./StdJsonToDictParser.js";

/** Object → JSON bytes (a Buffer). */
export class DictToJsonBytesParser extends BufferEncodingProcessor {
  process(_context: EventContext, event: unknown): unknown {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new TypeError(`DictToJsonBytesParser expects an object, got ${describeType(event)}`);
    }
    return Buffer.from(JSON.stringify(event), this.encoding);
  }
}
