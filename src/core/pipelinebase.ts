import type { Application } from "./application.js";
import { ProcessorChain } from "./chain.js";
import { ConfigObject, type ComponentOptions } from "./component.js";
import type { ConfigSpec } from "./config.js";
import type { TypedConfig } from "./resolve.js";
import type { EventContext } from "./context.js";
import { ProcessingError, toError } from "./errors.js";
import { PipelineFailures, type DeadLetterTarget, type ErrorState, type FailureOptions, type FailureOrigin } from "./failures.js";
import type { Logger, LogRecord } from "./logging.js";
import type { PartitionedStateHost } from "./partitionedstate.js";
import type { MetricSample } from "./metrics.js";
import type { Pipeline } from "./pipeline.js";
import { PipelineStats, profileOf, Stage, type ProfileEntry } from "./pipelinestats.js";
import type { ProcessorBase, Sink } from "./processor.js";
import { PubSub } from "./pubsub.js";
import { InFlight, ReadyGate } from "./readiness.js";
import type { Source } from "./source.js";

const CONFIG = {
  async_concurency_limit: { type: "int", default: 1000, doc: "Events awaiting async processors or generators before the pipeline throttles (name as in BSPump)", min: 1 },
  chillout: { type: "int", default: 10000, doc: "Yield to the event loop after this many ready() calls, so timers and I/O run", min: 1 },
  dead_letter: { type: "string", default: "", doc: "Pipeline id that receives failed events instead of the pipeline stopping" },
  log_records: { type: "int", default: 50, doc: "Recent log records kept for the web API", min: 0, max: 100000 },
} satisfies ConfigSpec;

/**
 * Everything a Pipeline is besides its hot path (which is in pipeline.ts, the class to extend):
 * configuration, the chain of processors, readiness and throttles, the failure path, the lifecycle
 * and what it reports. A separate class only so that each file stays readable.
 */
export abstract class PipelineBase extends ConfigObject {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly pubsub: PubSub;
  readonly log: Logger;
  readonly sources: Source[] = [];
  private readonly chain = new ProcessorChain(this.id, (p) => new Stage(p, this.kindOf(p)));
  /** Processors per depth; a Generator closes a depth and opens the next. */
  readonly processors: ProcessorBase[][] = this.chain.processors;
  protected pipelineContext: Record<string, unknown> = {};
  protected pipelineContextKeys: string[] = [];
  /** Failed events go here instead of stopping the pipeline (also settable as `dead_letter` config). */
  deadLetter: DeadLetterTarget | null = null;
  /** Set by a source that checkpoints state per input partition (KafkaSource with `state_topic`); stateful processors register with it. */
  partitionedState: PartitionedStateHost | null = null;

  // Per depth, kept in step with `processors`: what the hot path reads.
  protected readonly stages: Stage[][] = this.chain.stages;

  private started = false;
  private readonly gate: ReadyGate;
  /** Pipelines this one routes into; the PumpService stops this one before them. */
  readonly downstream = new Set<Pipeline>();
  protected readonly inFlight: InFlight;
  readonly recentLogs: LogRecord[] = [];
  protected readonly failures = new PipelineFailures(this);
  private readonly stats = new PipelineStats(this);

  constructor(app: Application, id: string, options: Omit<ComponentOptions, "id">) {
    super(app, (pid) => `pipeline:${pid}`, { ...options, id });
    const asyncLimit = this.config.getInt("async_concurency_limit");
    if (asyncLimit < 1) throw new ProcessingError(`[pipeline:${this.id}] async_concurency_limit must be at least 1`);
    this.gate = new ReadyGate(
      Math.max(1, this.config.getInt("chillout")),
      () => this.started && this.failures.state === null,
      (ready) => this.readyChanged(ready),
    );
    this.inFlight = new InFlight(asyncLimit, this.gate);
    const deadLetter = this.config.getString("dead_letter");
    if (deadLetter !== "") this.deadLetter = deadLetter;
    this.log = app.logs.logger(`bspump.pipeline.${this.id}`, { pipeline: this.id });
    const keep = this.config.getInt("log_records");
    this.log.addHook((record) => this.keepLog(record, keep));
    this.pubsub = new PubSub((message, error) => this.log.error(`Subscriber of '${message}' failed`, { error: toError(error) }));
    app.metrics.addCollector(() => this.metricSamples());
    app.pubsub.subscribe("Application.tick!", () => this.stats.updateRates());
  }

  /** Merged into every event's context (pipeline keys win). Assign a new object to change it. */
  get context(): Readonly<Record<string, unknown>> {
    return this.pipelineContext;
  }

  set context(value: Record<string, unknown>) {
    this.pipelineContext = value;
    this.pipelineContextKeys = Object.keys(value);
  }

  // ---------------------------------------------------------------- construction

  /** `build(source | [sources], ...processors)`: the last processor is normally the sink. */
  build(source: Source | Source[], ...processors: ProcessorBase[]): void {
    this.setSource(source);
    for (const p of processors) this.appendProcessor(p);
  }

  setSource(source: Source | Source[]): void {
    if (Array.isArray(source)) this.sources.push(...source);
    else this.sources.push(source);
  }

  appendProcessor(processor: ProcessorBase): void {
    this.chain.append(processor);
  }

  /** Inserts before the processor with that id; returns false when no such id exists. */
  insertBefore(id: string, processor: ProcessorBase): boolean {
    return this.chain.insertAt(id, processor, 0);
  }

  insertAfter(id: string, processor: ProcessorBase): boolean {
    return this.chain.insertAt(id, processor, 1);
  }

  removeProcessor(id: string): void {
    this.chain.remove(id);
  }

  *iterProcessors(): Iterable<ProcessorBase> {
    for (const depth of this.processors) yield* depth;
  }

  locateProcessor(id: string): ProcessorBase | undefined {
    for (const p of this.iterProcessors()) if (p.id === id) return p;
    return undefined;
  }

  locateSource(id: string): Source | undefined {
    return this.sources.find((s) => s.id === id);
  }

  /** The sink at the end of the last depth, if any. */
  get sink(): Sink | undefined {
    return this.chain.sink;
  }

  // ---------------------------------------------------------------- errors

  /**
   * An event failed after `process()` returned (a server refused what a sink took): the same rules
   * as a throw in `process()` — soft: a counted warning; hard: a counted error; either way the event
   * goes to the dead-letter target if there is one (`options.deadLetter`: a component's own), else a
   * hard error fails the receipt and puts the pipeline in its error state. The receipt must count the
   * event as pending (it does for a sink that settles receipts itself); it is settled or failed here
   * (after an asynchronous dead-letter sink finished).
   */
  eventFailed(context: EventContext, event: unknown, error: Error, origin: FailureOrigin = null, options?: FailureOptions): void {
    this.failures.fail(context, event, origin, error, options);
  }

  /**
   * Input a source could not turn into an event (a malformed line): a warning naming where (the
   * context's `filename` and `line` or `offset`), the raw input dead-lettered when there is a
   * target. Never stops the source. Call before the source seals the receipt.
   */
  badInput(context: EventContext, raw: unknown, error: Error, origin: FailureOrigin = null): void {
    this.failures.badInput(context, raw, error, origin);
  }

  /** Counts a warning that was not logged (a logged warn record is counted already). */
  countWarning(): void {
    this.failures.countWarning();
  }

  abstract get eventIn(): number;
  abstract get eventOut(): number;
  abstract get eventDrop(): number;

  get warnings(): number {
    return this.failures.warnings;
  }

  get errors(): number {
    return this.failures.errors;
  }

  get deadLettered(): number {
    return this.failures.deadLettered;
  }

  /**
   * Decides whether an error is soft (return true: count a warning, drop or dead-letter the event,
   * go on) or hard (false: the pipeline stops until the error is cleared). Override per pipeline.
   */
  handleError(_error: Error, _context: EventContext | null, _event: unknown): boolean {
    return false;
  }

  /**
   * Sets the pipeline's error state (hard error), or clears it with `setError(null, null, null)`;
   * clearing restarts the sources.
   */
  setError(context: EventContext | null, event: unknown, error: Error | null): void {
    if (this.failures.setError(context, event, error)) this.evaluateReady();
  }

  isError(): boolean {
    return this.failures.state !== null;
  }

  get error(): Readonly<ErrorState> | null {
    return this.failures.state;
  }

  // ---------------------------------------------------------------- readiness

  isReady(): boolean {
    return this.gate.isReady;
  }

  /**
   * Sources call this before each event or batch: `const wait = pipeline.ready(); if (wait) await wait;`.
   * Returns undefined when the source may go on at once, so the common case allocates nothing;
   * otherwise a promise that resolves when the pipeline is ready again, or after yielding to the
   * event loop once every `chillout` calls.
   */
  ready(): Promise<void> | undefined {
    return this.gate.ready();
  }

  /** Adds (or removes) a reason not to be ready; propagates to ancestral (linked) pipelines. */
  throttle(who: unknown, enable = true): void {
    this.gate.throttle(who, enable);
  }

  getThrottles(): ReadonlySet<unknown> {
    return this.gate.throttles;
  }

  /** Makes this pipeline's throttling also throttle `ancestor` (which feeds this one). */
  link(ancestor: Pipeline): void {
    this.gate.link(ancestor);
  }

  unlink(ancestor: Pipeline): void {
    this.gate.unlink(ancestor);
  }

  /** Records that this pipeline feeds `target` (routers call it), for the stop order. */
  addDownstream(target: Pipeline): void {
    if (target !== (this as PipelineBase)) this.downstream.add(target);
  }

  private evaluateReady(): void {
    this.gate.evaluate();
  }

  private readyChanged(ready: boolean): void {
    this.stats.readyChanged(ready, performance.now() / 1000);
    this.pubsub.publish(ready ? "bspump.pipeline.ready!" : "bspump.pipeline.not_ready!", { pipeline: this });
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    this.pubsub.publish("bspump.pipeline.start!", { pipeline: this });
    for (const p of this.iterProcessors()) p.start();
    this.started = true;
    this.evaluateReady();
    for (const source of this.sources) source.start();
  }

  /**
   * Graceful stop: sources stop taking input, in-flight async events finish, processors flush in
   * chain order, then sources finalize (acknowledge what was settled).
   */
  async stop(): Promise<void> {
    this.pubsub.publish("bspump.pipeline.stop!", { pipeline: this });
    await Promise.all(this.sources.map((s) => s.stop()));
    await this.whenAsyncIdle();
    for (const p of this.iterProcessors()) {
      try {
        await p.stop();
      } catch (e) {
        this.log.error(`Component '${p.id}' failed to stop`, { error: toError(e) });
      }
      // A flush may have started async work (an aggregator feeding an async sink).
      await this.whenAsyncIdle();
    }
    await Promise.all(this.sources.map((s) => s.finalize()));
    this.started = false;
    this.evaluateReady();
  }

  // ---------------------------------------------------------------- observation

  private keepLog(record: LogRecord, keep: number): void {
    if (record.level === "warn") this.failures.countWarning();
    if (keep <= 0 || record.level === "debug") return;
    this.recentLogs.push(record);
    if (this.recentLogs.length > keep) this.recentLogs.shift();
  }

  /** Per-component counts and estimated seconds spent (timing is sampled). */
  profile(): ProfileEntry[] {
    return profileOf(this.stages);
  }

  metricSamples(): MetricSample[] {
    return this.stats.metricSamples();
  }

  /** JSON view for the web API and the dashboard (BSPump's rest_get). */
  describe(): Record<string, unknown> {
    return this.stats.view(this.gate.describe());
  }

  locateAddress(): string {
    return this.id;
  }

  /** Resolves when no asynchronous processor or generator is in flight. */
  whenAsyncIdle(): Promise<void> {
    return this.inFlight.whenIdle();
  }

  get asyncPending(): number {
    return this.inFlight.count;
  }

  /** The hot path's kind of a processor (Pipeline's). */
  protected abstract kindOf(processor: ProcessorBase): number;
}
