import type { Application } from "./application.js";
import type { ComponentOptions } from "./component.js";
import type { EventContext } from "./context.js";
import { ProcessingError, toError } from "./errors.js";
import { PipelineBase } from "./pipelinebase.js";
import type { Stage } from "./pipelinestats.js";
import { Generator, type ProcessorBase, Sink } from "./processor.js";

const KIND_PROCESSOR = 0;
const KIND_SINK = 1;
const KIND_GENERATOR = 2;
/** Added to a sink's or processor's kind when it settles receipts itself (read once, not per event). */
const SETTLES_ITSELF = 4;

/** Profiling times one event in this many (a power of two); counts stay exact (timing every call would cost more than small processors). */
const PROFILE_SAMPLE = 256;

/**
 * A pipeline: sources → processors (in depths separated by generators) → sink.
 * Events run through the chain synchronously: `process()` is the hot path, in this file; the rest
 * of the pipeline (construction, readiness, failures, lifecycle, reporting) is in PipelineBase.
 */
export class Pipeline extends PipelineBase {
  private profileTick = 0;
  // Counters, read through getters (pull model: the hot path only increments numbers).
  private inCount = 0;
  private outCount = 0;
  private dropCount = 0;

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id ?? new.target.name, options);
  }

  get eventIn(): number {
    return this.inCount;
  }

  get eventOut(): number {
    return this.outCount;
  }

  get eventDrop(): number {
    return this.dropCount;
  }

  /**
   * Hands one event to the pipeline. Synchronous: by the time it returns, the event went through
   * every synchronous processor. Sources call `ready()` first (see there).
   */
  process(event: unknown, context?: EventContext): void {
    this.inCount++;
    const ctx: EventContext = context ?? {};
    if (this.pipelineContextKeys.length !== 0) this.mergeContext(ctx);
    this.runDepth(event, ctx, 0, 0, false);
  }

  /** Injects an event at a depth (generators call this for each event they produce). */
  inject(context: EventContext, event: unknown, depth: number): void {
    const ctx: EventContext = { ...context };
    if (this.pipelineContextKeys.length !== 0) this.mergeContext(ctx);
    this.runDepth(event, ctx, depth, 0, false);
  }

  private mergeContext(ctx: EventContext): void {
    for (const key of this.pipelineContextKeys) ctx[key] = this.pipelineContext[key];
  }

  // The hot path. Kept small (rare paths live in the methods after it) so that V8 inlines it into
  // process(): measured ~40% less engine cost per event than when it was one big method.
  //
  // Delivery receipts: an event counts as pending on its receipt only once it leaves the synchronous
  // path (`counted`): before a component that settles receipts itself, when a processor returns a
  // Promise, when it fails. An event that a sink takes or a processor drops synchronously is only
  // tallied as settled: the source seals a receipt after handing its batch over, so the receipt
  // cannot complete in between. (Measured: W3 about 8% faster than add() + settle() per event.)
  private runDepth(event: unknown, ctx: EventContext, depth: number, from: number, counted: boolean): void {
    const stages = this.stages[depth];
    if (stages === undefined) return this.noSuchDepth(ctx, event, depth, counted);
    const timed = (++this.profileTick & (PROFILE_SAMPLE - 1)) === 0;
    for (let i = from; i < stages.length; i++) {
      const stage = stages[i]!;
      if (stage.kind >= SETTLES_ITSELF && !counted) counted = count(ctx);
      stage.runs++;
      const t0 = timed ? performance.now() : 0;
      let result: unknown;
      try {
        result = stage.kind === KIND_GENERATOR ? (stage.processor as Generator).generate(ctx, event, depth + 1) : stage.processor.process(ctx, event);
      } catch (e) {
        return this.threw(stage, timed, t0, ctx, event, e, counted);
      }
      if (timed) this.addSample(stage, t0);
      if (result === null || result === undefined) return this.consumed(ctx, stage.kind, counted);
      if (stage.kind === KIND_GENERATOR || result instanceof Promise) return this.leftSyncPath(result, ctx, event, stage, depth, i, counted);
      event = result;
    }
    this.incomplete(ctx, event, counted);
  }

  private noSuchDepth(ctx: EventContext, event: unknown, depth: number, counted: boolean): void {
    if (!counted) count(ctx);
    this.failures.fail(ctx, event, null, new ProcessingError(`Pipeline '${this.id}' has no depth ${depth} to inject into`));
  }

  private incomplete(ctx: EventContext, event: unknown, counted: boolean): void {
    if (!counted) count(ctx);
    this.failures.fail(ctx, event, null, new ProcessingError(`Incomplete pipeline '${this.id}': event is not consumed by a sink`));
  }

  private threw(stage: Stage, timed: boolean, t0: number, ctx: EventContext, event: unknown, error: unknown, counted: boolean): void {
    if (timed) this.addSample(stage, t0);
    if (!counted) count(ctx);
    this.failures.fail(ctx, event, stage.processor, toError(error));
  }

  /** A generator returned (its children were injected, or will be when its Promise settles), or a processor returned a Promise. */
  private leftSyncPath(result: unknown, ctx: EventContext, event: unknown, stage: Stage, depth: number, index: number, counted: boolean): void {
    if (result instanceof Promise) {
      if (!counted) count(ctx);
      if (stage.kind === KIND_GENERATOR) this.awaitGenerator(result, ctx, event, stage.processor);
      else this.awaitProcessor(result, ctx, event, stage.processor, depth, index);
    } else settle(ctx, counted);
  }

  private addSample(profile: Stage, t0: number): void {
    profile.sampledRuns++;
    profile.sampledSeconds += (performance.now() - t0) / 1000;
  }

  /** The event ends here: a sink took it, a processor dropped it, or a generator finished with it. */
  private consumed(ctx: EventContext, kind: number, counted: boolean): void {
    if (kind !== KIND_GENERATOR) {
      if ((kind & 3) === KIND_SINK) this.outCount++;
      else this.dropCount++;
    }
    if (kind < SETTLES_ITSELF) settle(ctx, counted);
  }

  private awaitProcessor(result: Promise<unknown>, ctx: EventContext, event: unknown, processor: ProcessorBase, depth: number, index: number): void {
    this.inFlight.started();
    result.then(
      (next) => {
        this.inFlight.finished();
        if (next === null || next === undefined) this.consumed(ctx, this.stages[depth]![index]!.kind, true);
        else this.runDepth(next, ctx, depth, index + 1, true);
      },
      (e: unknown) => {
        this.inFlight.finished();
        this.failures.fail(ctx, event, processor, toError(e));
      },
    );
  }

  private awaitGenerator(result: Promise<unknown>, ctx: EventContext, event: unknown, processor: ProcessorBase): void {
    this.inFlight.started();
    result.then(
      () => {
        this.inFlight.finished();
        ctx.receipt?.settle();
      },
      (e: unknown) => {
        this.inFlight.finished();
        this.failures.fail(ctx, event, processor, toError(e));
      },
    );
  }

  protected kindOf(processor: ProcessorBase): number {
    return kindOf(processor);
  }
}

/** Counts the event on its receipt (it is leaving the synchronous path); for `counted = count(ctx)`. */
function count(ctx: EventContext): true {
  ctx.receipt?.add();
  return true;
}

function settle(ctx: EventContext, counted: boolean): void {
  if (counted) ctx.receipt?.settle();
  else ctx.receipt?.settledAtOnce();
}

function kindOf(processor: ProcessorBase): number {
  if (processor instanceof Generator) return KIND_GENERATOR;
  const settles = processor.settlesReceipts ? SETTLES_ITSELF : 0;
  if (processor instanceof Sink) return KIND_SINK + settles;
  return KIND_PROCESSOR + settles;
}
