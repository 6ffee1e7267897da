import type { EventContext, Logger, Pipeline } from "../core/index.js";
import { reportBadInput } from "../file/badInput.js";

/**
 * The one call the codec users make for input they cannot turn into an event (an over-long line,
 * a malformed CSV row or JSON line): a counted warning naming where, and a dead letter when the
 * pipeline has a target. It forwards to the pipeline's bad-input path (issue 20 item 1 makes that
 * a public core method, `pipeline.badInput(...)`; then only this body changes).
 */
export function badInput(pipeline: Pipeline, log: Logger, component: string, context: EventContext, raw: unknown, error: unknown): void {
  reportBadInput(pipeline, log, component, context, raw, error);
}
