import { Processor, type EventContext } from "../core/index.js";
import { entriesOf } from "./mapping.js";

/** Object → list of its keys. */
export class MappingKeysProcessor extends Processor {
  process(_context: EventContext, event: unknown): unknown {
    return entriesOf(event, "MappingKeysProcessor").map(([k]) => k);
  }
}
