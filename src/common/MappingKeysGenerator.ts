import { Generator, type EventContext } from "../core/index.js";
import { entriesOf } from "./mapping.js";

/** Injects each key of an object as its own event. */
export class MappingKeysGenerator extends Generator {
  generate(context: EventContext, event: unknown, depth: number): void {
    for (const [key] of entriesOf(event, "MappingKeysGenerator")) this.pipeline.inject(context, key, depth);
  }
}
