import type { EventContext } from "../core/index.js";
import { eventBytes } from "./aes.js";
import { HashingProcessor } from "./HashingProcessor.js";

/** BSPump's CoHashingProcessor: puts the digest of the bytes event into `context.hash` and passes the event unchanged. */
export class CoHashingProcessor extends HashingProcessor {
  override process(context: EventContext, event: unknown): Buffer {
    context.hash = this.hash(eventBytes(event, `CoHashingProcessor '${this.id}'`));
    return event as Buffer;
  }
}
