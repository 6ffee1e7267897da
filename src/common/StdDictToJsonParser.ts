import { Processor, type EventContext } from "../core/index.js";

/** Object → JSON string. */
export class StdDictToJsonParser extends Processor {
  process(_context: EventContext, event: unknown): unknown {
    return JSON.stringify(event);
  }
}

/** Older BSPump name. */
export class DictToJsonParser extends StdDictToJsonParser {}
