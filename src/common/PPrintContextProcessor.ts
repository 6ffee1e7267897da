import { PrintContextProcessor } from "./PrintContextProcessor.js";
import { formatPretty } from "./print.js";

/** Pretty-prints each event's context and passes the event on. */
export class PPrintContextProcessor extends PrintContextProcessor {
  protected override format(value: unknown): string {
    return formatPretty(value);
  }
}
