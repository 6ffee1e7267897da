import { Generator, type EventContext } from "../core/index.js";
import { entriesOf } from "./mapping.js";

/** Injects each value of an object as its own event. */
export class MappingValuesGenerator extends Generator {
  generate(context: EventContext, event: unknown, depth: number): void {
    for (const [, value] of entriesOf(event, "MappingValuesGenerator")) this.pipeline.inject(context, value, depth);
  }
}
