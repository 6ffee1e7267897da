import type { EventContext } from "./context.js";
import { ProcessingError, toError } from "./errors.js";
import type { Pipeline } from "./pipeline.js";
import type { PipelineBase } from "./pipelinebase.js";
import { Sink } from "./processor.js";

/** Where failed events go instead of stopping the pipeline: a sink, or another pipeline (by id or object). */
export type DeadLetterTarget = Sink | Pipeline | string;

/** What a dead-letter target receives for each failed event (a component may add fields: `detail`). */
export interface DeadLetterEvent {
  pipeline: string;
  component: string | null;
  error: { name: string; message: string };
  time: number;
  event: unknown;
}

/** Seconds between two lines counting the hard errors of a pipeline that is in error already. */
const SUPPRESSED_LOG_SECONDS = 5;

/** Who found the failure: a component (its id goes into the dead-letter record), an id, or null for the pipeline itself. */
export type FailureOrigin = { readonly id: string } | string | null;

export interface FailureOptions {
  /** A target of the component's own (ElasticSearchSink's `dead_letter`) instead of the pipeline's. */
  deadLetter?: DeadLetterTarget | null;
  /** More fields for the dead-letter record (what the server said about the item). */
  detail?: Record<string, unknown>;
}

/** A pipeline's hard error: what failed and when; the pipeline stays stopped until it is cleared. */
export interface ErrorState {
  context: EventContext | null;
  event: unknown;
  error: Error;
  time: number;
}

/**
 * A pipeline's failure path, the one way every component reports an event that failed — thrown in
 * `process()`, refused by a server after `process()` returned, or bad input found by a source — and
 * the warning/error/dead-letter counters it moves. Part of core: components call the Pipeline's
 * `eventFailed()`, `badInput()` and `countWarning()`.
 */
export class PipelineFailures {
  private nWarnings = 0;
  private nErrors = 0;
  private nDeadLettered = 0;
  private errorState: ErrorState | null = null;
  /** Hard errors since the last line logged about them while the pipeline was already in error. */
  private nSuppressed = 0;
  /** When (app time) the last line about the error state was logged. */
  private loggedAt = 0;

  constructor(private readonly pipeline: PipelineBase) {}

  get warnings(): number {
    return this.nWarnings;
  }

  get errors(): number {
    return this.nErrors;
  }

  get deadLettered(): number {
    return this.nDeadLettered;
  }

  get state(): ErrorState | null {
    return this.errorState;
  }

  /** Sets (or with a null error clears) the error state; true when the pipeline's readiness may have changed. */
  setError(context: EventContext | null, event: unknown, error: Error | null): boolean {
    const p = this.pipeline;
    if (error === null) {
      if (this.errorState === null) return false;
      this.errorState = null;
      const more = this.nSuppressed;
      this.nSuppressed = 0;
      p.log.info(more > 0 ? `Error cleared (${more} more events failed while the pipeline was in error)` : "Error cleared");
      for (const source of p.sources) source.restart();
      p.pubsub.publish("bspump.pipeline.clear_error!", { pipeline: p });
      return true;
    }
    this.nErrors++;
    const now = p.app.time();
    const already = this.errorState !== null;
    this.errorState = { context, event, error, time: now };
    if (already) this.alreadyInError(error, now);
    else {
      this.loggedAt = now;
      p.log.error(`Pipeline stopped due to a processing error: ${error.message} (${error.name})`, { error });
    }
    p.pubsub.publish("bspump.pipeline.error!", { pipeline: p });
    p.app.pubsub.publish("bspump.pipeline.error!", { pipeline: p });
    return true;
  }

  /**
   * A hard error while the pipeline is in error already: events handed over before the sources saw
   * the error state (up to a readiness check later) fail too, often every one of them. A line per
   * event flooded the log (15,000 lines in half a second), so they are counted and logged at most
   * once per SUPPRESSED_LOG_SECONDS, and the rest when the error is cleared.
   */
  private alreadyInError(error: Error, now: number): void {
    this.nSuppressed++;
    if (now - this.loggedAt < SUPPRESSED_LOG_SECONDS) return;
    this.pipeline.log.error(`${this.nSuppressed} more events failed while the pipeline was in error (last: ${error.message})`);
    this.nSuppressed = 0;
    this.loggedAt = now;
  }

  /**
   * An event failed; its receipt (if any) counts it as pending and is settled or failed here, once.
   * Soft (handleError → true): a warning, the event dropped or dead-lettered. Hard: dead-lettered
   * when there is a target, otherwise the receipt fails and the pipeline enters its error state.
   */
  fail(ctx: EventContext, event: unknown, origin: FailureOrigin, error: Error, options?: FailureOptions): void {
    const p = this.pipeline;
    const target = options?.deadLetter ?? p.deadLetter;
    if (this.isSoft(error, ctx, event)) {
      this.warned();
      if (p.log.isEnabled("debug")) p.log.debug("Soft error, event dropped", { component: originId(origin), error: error.message });
    } else if (target === null) {
      ctx.receipt?.fail(error);
      p.setError(ctx, event, error);
      return;
    } else {
      this.nErrors++;
    }
    if (target !== null) this.sendToDeadLetter(target, ctx, event, origin, error, options?.detail);
    else ctx.receipt?.settle();
  }

  /**
   * Input a source could not turn into an event (a malformed line): always soft — a warning naming
   * where it was (`filename`, `line` or `offset` from the context), and the raw input to the
   * dead-letter target if there is one. The receipt counts it until that is done.
   */
  badInput(ctx: EventContext, raw: unknown, error: Error, origin: FailureOrigin): void {
    const p = this.pipeline;
    const where = describeWhere(ctx);
    const component = originId(origin);
    // The warn record is the counted warning (the pipeline counts warn records).
    p.log.warn(`Bad input${where}: ${error.message}`, { component, filename: ctx.filename, line: ctx.line, offset: ctx.offset });
    p.pubsub.publish("bspump.pipeline.warning!", { pipeline: p });
    const target = p.deadLetter;
    if (target === null) return;
    // Pending on the receipt until the dead-letter target took it (the source has not sealed it yet).
    ctx.receipt?.add();
    const named = new ProcessingError(`${error.message}${where}`);
    named.name = error.name;
    this.sendToDeadLetter(target, ctx, raw, origin, named, undefined);
  }

  /** A warning that was not logged (a component logs the first few of a kind and counts the rest). */
  countWarning(): void {
    this.nWarnings++;
  }

  private warned(): void {
    this.nWarnings++;
    this.pipeline.pubsub.publish("bspump.pipeline.warning!", { pipeline: this.pipeline });
  }

  private isSoft(error: Error, ctx: EventContext, event: unknown): boolean {
    try {
      return this.pipeline.handleError(error, ctx, event);
    } catch (e) {
      this.pipeline.log.error("handleError() threw; treating the error as hard", { error: toError(e) });
      return false;
    }
  }

  private sendToDeadLetter(target: DeadLetterTarget, ctx: EventContext, event: unknown, origin: FailureOrigin, error: Error, detail: Record<string, unknown> | undefined): void {
    const p = this.pipeline;
    const record: DeadLetterEvent = { pipeline: p.id, component: originId(origin), error: { name: error.name, message: error.message }, time: p.app.time(), event };
    if (detail !== undefined) Object.assign(record, detail);
    this.nDeadLettered++;
    try {
      if (typeof target === "string") {
        const found = p.app.pumpServiceOrNull()?.locatePipeline(target);
        if (!found) throw new ProcessingError(`Dead-letter pipeline '${target}' is not registered`);
        if (p.deadLetter === target) p.deadLetter = found;
        target = found;
      }
      if (!(target instanceof Sink)) {
        p.addDownstream(target);
        // The dead-letter pipeline adds and settles its own count on the same receipt.
        target.process(record, { ...ctx, ancestor: ctx });
        ctx.receipt?.settle();
        return;
      }
      const sink = target;
      const result = sink.process(ctx, record);
      if (result instanceof Promise) {
        result.then(
          () => !sink.settlesReceipts && ctx.receipt?.settle(),
          (e: unknown) => this.deadLetterFailed(ctx, event, toError(e)),
        );
      } else if (!sink.settlesReceipts) ctx.receipt?.settle();
    } catch (e) {
      this.deadLetterFailed(ctx, event, toError(e));
    }
  }

  private deadLetterFailed(ctx: EventContext, event: unknown, error: Error): void {
    ctx.receipt?.fail(error);
    this.pipeline.setError(ctx, event, new ProcessingError(`Dead-letter target failed: ${error.message}`));
  }
}

function originId(origin: FailureOrigin): string | null {
  return origin === null || typeof origin === "string" ? origin : origin.id;
}

function describeWhere(ctx: EventContext): string {
  const file = typeof ctx.filename === "string" ? ctx.filename : "";
  if (!file) return "";
  if (typeof ctx.line === "number") return ` (${file}:${ctx.line})`;
  if (typeof ctx.offset === "number") return ` (${file} at offset ${ctx.offset})`;
  return ` (${file})`;
}
