import type { EventContext } from "../core/index.js";
import { RouterProcessor } from "./RouterProcessor.js";

/** Sends a copy of each event to every bound `"Pipeline.*SourceId"` and passes the original on. */
export class TeeProcessor extends RouterProcessor {
  private readonly bound = new Set<string>();

  bind(address: string): void {
    this.bound.add(address);
  }

  unbind(address: string): void {
    this.bound.delete(address);
    this.unlocate(address);
  }

  process(context: EventContext, event: unknown): unknown {
    for (const address of this.bound) this.route(context, event, address, true);
    return event;
  }
}
