import type { EventContext } from "../core/index.js";
import { PrintProcessor } from "./PrintProcessor.js";

/** Prints each event's context and passes the event on. */
export class PrintContextProcessor extends PrintProcessor {
  protected override printed(context: EventContext, _event: unknown): unknown {
    return context;
  }
}
