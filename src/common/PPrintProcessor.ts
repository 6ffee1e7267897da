import { PrintProcessor } from "./PrintProcessor.js";
import { formatPretty } from "./print.js";

/** Pretty-prints each event and passes it on. */
export class PPrintProcessor extends PrintProcessor {
  protected override format(value: unknown): string {
    return formatPretty(value);
  }
}
