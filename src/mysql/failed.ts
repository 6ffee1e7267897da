import { Pipeline, ProcessingError, Sink, toError, type DeadLetterEvent, type ProcessorBase, type Receipt } from "../core/index.js";

/**
 * An event a sink could not write (the server refused it) after `process()` had returned: applies
 * the pipeline's error rules as if `process()` had thrown. Soft error (handleError → true): counted
 * as a warning and settled. Dead-letter target set: the event goes there. Otherwise its receipt
 * fails (the source redelivers) and the pipeline enters its error state.
 */
export function eventFailed(pipeline: Pipeline, component: ProcessorBase, receipt: Receipt | undefined, event: unknown, error: Error): void {
  const ctx = receipt ? { receipt } : {};
  let soft = false;
  try {
    soft = pipeline.handleError(error, ctx, event);
  } catch {
    soft = false;
  }
  if (soft) {
    pipeline.warnings++;
    receipt?.settle();
    return;
  }
  let target = pipeline.deadLetter;
  if (typeof target === "string") target = pipeline.app.pumpServiceOrNull()?.locatePipeline(target) ?? null;
  if (target === null) {
    receipt?.fail(error);
    if (!pipeline.isError()) pipeline.setError(null, event, error);
    return;
  }
  const record: DeadLetterEvent = { pipeline: pipeline.id, component: component.id, error: { name: error.name, message: error.message }, time: pipeline.app.time(), event };
  pipeline.errors++;
  pipeline.deadLettered++;
  try {
    if (target instanceof Pipeline) {
      target.process(record, receipt ? { receipt } : {});
      receipt?.settle();
    } else if (target instanceof Sink) {
      const result = target.process(ctx, record);
      if (result instanceof Promise) {
        result.then(
          () => !target.settlesReceipts && receipt?.settle(),
          (e: unknown) => receipt?.fail(toError(e)),
        );
      } else if (!target.settlesReceipts) receipt?.settle();
    }
  } catch (e) {
    receipt?.fail(toError(e));
    pipeline.setError(null, event, new ProcessingError(`Dead-letter target failed: ${toError(e).message}`));
  }
}
