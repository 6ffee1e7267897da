import type { EventContext } from "../core/index.js";
import { FileBufferedSink } from "./FileBufferedSink.js";

/** Writes each event as one line of JSON (JSON lines). */
export class FileJSONSink extends FileBufferedSink {
  protected serialize(_context: EventContext, event: unknown): string {
    const text = JSON.stringify(event);
    if (text === undefined) throw new TypeError(`FileJSONSink cannot write ${typeof event} as JSON`);
    return text + "\n";
  }
}
