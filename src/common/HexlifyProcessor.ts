import { Processor, type EventContext } from "../core/index.js";
import { describeType } from "./StdJsonToDictParser.js";

/** Bytes → their lowercase hex, as bytes (`\x12\x34` → `1234`), as in BSPump. */
export class HexlifyProcessor extends Processor {
  process(_context: EventContext, event: unknown): unknown {
    if (!(event instanceof Uint8Array)) throw new TypeError(`HexlifyProcessor expects bytes, got ${describeType(event)}`);
    return Buffer.from(Buffer.from(event.buffer, event.byteOffset, event.byteLength).toString("hex"), "ascii");
  }
}
