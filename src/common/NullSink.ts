import { Sink, type EventContext } from "../core/index.js";

/** Discards every event (counted as out). */
export class NullSink extends Sink {
  process(_context: EventContext, _event: unknown): null {
    return null;
  }
}
