import type { EventContext, Logger, Pipeline } from "../core/index.js";
import { toError } from "../core/index.js";

/**
 * The one call the codec users make for input they cannot turn into an event (an over-long line,
 * a malformed CSV row or JSON line): the pipeline's bad-input path (a counted warning naming
 * where, and a dead letter when the pipeline has a target).
 */
export function badInput(pipeline: Pipeline, _log: Logger, component: string, context: EventContext, raw: unknown, error: unknown): void {
  pipeline.badInput(context, raw, toError(error), component);
}
