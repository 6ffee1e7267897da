import { PrintSink } from "./PrintSink.js";
import { formatPretty } from "./print.js";

/** Pretty-prints each event, then consumes it. */
export class PPrintSink extends PrintSink {
  protected override format(value: unknown): string {
    return formatPretty(value);
  }
}
