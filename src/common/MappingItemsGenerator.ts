import { Generator, type EventContext } from "../core/index.js";
import { entriesOf } from "./mapping.js";

/** Injects each `[key, value]` pair of an object as its own event. */
export class MappingItemsGenerator extends Generator {
  generate(context: EventContext, event: unknown, depth: number): void {
    for (const item of entriesOf(event, "MappingItemsGenerator")) this.pipeline.inject(context, item, depth);
  }
}
