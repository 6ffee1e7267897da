import { ProcessingError, type Counter, type ProcessorBase } from "../core/index.js";

/** Lines of bad input logged in full per component before the rest are only counted. */
const LOG_LIMIT = 10;
const logged = new WeakMap<ProcessorBase, number>();

/**
 * Bad input to an anomaly component (a symptom without `@timestamp` or key dimensions, a malformed
 * anomaly event), as the analyzers handle it: counted under `field` of the component's counter and
 * as a pipeline warning (the first few logged); when the pipeline has a dead-letter target, thrown
 * so that the pipeline's error rules dead-letter the event. Never a crash, never a log flood.
 */
export function badSymptom(component: ProcessorBase, counter: Counter, field: string, message: string): void {
  counter.add(field);
  const pipeline = component.pipeline;
  if (pipeline.deadLetter !== null) throw new ProcessingError(`${component.id}: ${message}`);
  const n = logged.get(component) ?? 0;
  if (n < LOG_LIMIT) {
    logged.set(component, n + 1);
    // A warn record counts as a pipeline warning.
    pipeline.log.warn(`${component.id}: ${message}${n + 1 === LOG_LIMIT ? " (further bad input is only counted)" : ""}`, { component: component.id, kind: field });
  } else pipeline.countWarning();
}
