import { Generator, type EventContext } from "../core/index.js";
import { describeType } from "./StdJsonToDictParser.js";

/** Injects each element of an iterable event (a string gives its characters). */
export class IteratorGenerator extends Generator {
  generate(context: EventContext, event: unknown, depth: number): void {
    if (event === null || event === undefined || typeof (event as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError(`IteratorGenerator expects an iterable, got ${describeType(event)}`);
    }
    for (const item of event as Iterable<unknown>) this.pipeline.inject(context, item, depth);
  }
}
