import { Pipeline, Sink, toError, type DeadLetterEvent, type EventContext, type Logger } from "../core/index.js";

/**
 * Reports input a source could not turn into an event (a malformed CSV row, JSON line, Avro block):
 * a warning (counted by the pipeline) that names the file and line or offset, and, when the pipeline
 * has a dead-letter target, a DeadLetterEvent sent there. It never stops the source: the other lines
 * and files go on. The event carries the raw input and `where` (file name, line/offset).
 */
export function reportBadInput(
  pipeline: Pipeline,
  log: Logger,
  component: string,
  context: EventContext,
  raw: unknown,
  error: unknown,
): void {
  const err = toError(error);
  const where = describeWhere(context);
  log.warn(`Bad input${where}: ${err.message}`, { component, filename: context.filename, line: context.line, offset: context.offset });
  let target = pipeline.deadLetter;
  if (target === null) return;
  const record: DeadLetterEvent = {
    pipeline: pipeline.id,
    component,
    error: { name: err.name, message: `${err.message}${where}` },
    time: pipeline.app.time(),
    event: raw,
  };
  pipeline.deadLettered++;
  try {
    if (typeof target === "string") {
      const found = pipeline.app.pumpServiceOrNull()?.locatePipeline(target);
      if (!found) throw new Error(`Dead-letter pipeline '${target}' is not registered`);
      target = found;
    }
    if (target instanceof Pipeline) {
      pipeline.addDownstream(target);
      target.process(record, { ...context, ancestor: context });
    } else if (target instanceof Sink) {
      const sink = target;
      context.receipt?.add();
      const result = sink.process(context, record);
      if (result instanceof Promise) {
        result.then(
          () => !sink.settlesReceipts && context.receipt?.settle(),
          (e: unknown) => context.receipt?.fail(toError(e)),
        );
      } else if (!sink.settlesReceipts) context.receipt?.settle();
    }
  } catch (e) {
    log.error(`Dead-letter target failed: ${toError(e).message}`, { component });
    context.receipt?.add();
    context.receipt?.fail(toError(e));
  }
}

function describeWhere(context: EventContext): string {
  const file = typeof context.filename === "string" ? context.filename : "";
  if (!file) return "";
  if (typeof context.line === "number") return ` (${file}:${context.line})`;
  if (typeof context.offset === "number") return ` (${file} at offset ${context.offset})`;
  return ` (${file})`;
}
