import { Processor, type EventContext } from "../core/index.js";
import { entriesOf } from "./mapping.js";

/** Object → list of its values. */
export class MappingValuesProcessor extends Processor {
  process(_context: EventContext, event: unknown): unknown {
    return entriesOf(event, "MappingValuesProcessor").map(([, v]) => v);
  }
}
