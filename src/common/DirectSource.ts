import { Source, type EventContext, type WorkerSharing } from "../core/index.js";
import { deepCopyContext } from "./InternalSource.js";

/**
 * Processes events put into it synchronously and at once, without waiting for readiness:
 * a sub-pipeline called like a function.
 */
export class DirectSource extends Source {
  // Fed from inside the process: runs wherever its feeders run.
  static override WorkerSharing: WorkerSharing = "inherited";
  async main(): Promise<void> {
    await this.untilStopped;
  }

  put(context: EventContext, event: unknown, copyContext = false, copyEvent = false): void {
    const ancestor = copyContext ? deepCopyContext(context) : context;
    this.pipeline.process(copyEvent ? structuredClone(event) : event, { ancestor, receipt: context.receipt });
  }
}
