import { Processor, type EventContext } from "../core/index.js";
import { entriesOf } from "./mapping.js";

/** Object → list of `[key, value]` pairs. */
export class MappingItemsProcessor extends Processor {
  process(_context: EventContext, event: unknown): unknown {
    return entriesOf(event, "MappingItemsProcessor");
  }
}
