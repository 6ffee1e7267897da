import { Router } from "../common/Router.js";
import {
  Processor,
  ProcessingError,
  toError,
  type Application,
  type ComponentOptions,
  type ConfigSpec, type TypedConfig,
  type Counter,
  type EventContext,
  type Pipeline,
  type ProcessorBase,
} from "../core/index.js";

/** Where an analyzer's results go, besides (or instead of) a `target` pipeline address. */
export type ResultHandler = (event: Record<string, unknown>, analyzer: Analyzer) => void;

export interface AnalyzerOptions extends ComponentOptions {
  /** Run `analyze()` every `analyze_period` seconds (also the config key `analyze_on_clock`). */
  analyzeOnClock?: boolean;
  /** A sink (or any processor) that receives each result with an empty context, or a function. */
  sink?: ProcessorBase | ResultHandler;
}

/** Lines of the same kind of bad input logged in full before the rest are only counted. */
const BAD_INPUT_LOG_LIMIT = 10;

const CONFIG = {
  analyze_period: { type: "float", default: 60, doc: "Seconds between analyze() calls when analyzing on the clock" },
  analyze_on_clock: { type: "bool", default: false, doc: "Call analyze() every analyze_period seconds" },
  analyze_on: { type: "string", default: "", doc: "PubSub message (on the application) that triggers analyze()" },
  target: { type: "string", default: "", doc: "Address of an InternalSource ('Pipeline.*SourceId') that receives the results" },
} satisfies ConfigSpec;

/**
 * BSPump's Analyzer: a processor that observes events without changing them. For each event,
 * `evaluate(context, event)` runs when `predicate(context, event)` is true; the event then goes on
 * unchanged. `analyze()` produces results: it runs on the clock (`analyze_on_clock`, every
 * `analyze_period` seconds), when a PubSub message named by `analyze_on` is published on the
 * application (another component's trigger), or when the analyzer itself decides (event time).
 * Results are emitted as new events into another pipeline (`target` = "Pipeline.*InternalSourceId")
 * and/or to a sink or function given as the `sink` option.
 *
 * Bad input (a missing field, a value that is not a number) is counted in the metric
 * `bspump.analyzer` (tag `analyzer`) and as a pipeline warning; the analyzer's state is not touched
 * and the event goes on. When the pipeline has a dead-letter target, the event is dead-lettered.
 */
export class Analyzer extends Processor {
  static override PartitionedInput = true;
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly analyzeOnClock: boolean;
  readonly analyzePeriod: number;
  /** Counts of results emitted and of bad input by kind. */
  readonly counter: Counter;
  protected readonly target: string;
  private readonly router: Router;
  private readonly sinkOption: ProcessorBase | ResultHandler | undefined;
  private timer: NodeJS.Timeout | null = null;
  private readonly onTrigger = (): void => this.runAnalyze();
  private badLogged = 0;
  /**
   * The context of the event being evaluated while it may emit results (a partitioned analyzer
   * sets it): a result routed to `target` then holds that event's receipt until it is delivered,
   * so the event's offset is not committed (nor its state checkpointed) before its results are out.
   */
  protected resultContext: EventContext | null = null;
  /** Time spent in analyze(), for the profiler. */
  analyzeRuns = 0;
  analyzeSeconds = 0;

  constructor(app: Application, pipeline: Pipeline, options: AnalyzerOptions = {}) {
    super(app, pipeline, options);
    this.analyzeOnClock = options.analyzeOnClock ?? this.config.getBool("analyze_on_clock");
    this.analyzePeriod = this.config.getFloat("analyze_period");
    if (this.analyzeOnClock && !(this.analyzePeriod > 0)) throw new ProcessingError(`[pipeline:${pipeline.id}:${this.id}] analyze_period must be > 0`);
    this.target = this.config.getString("target");
    this.sinkOption = options.sink;
    this.router = new Router(this);
    this.counter = app.metrics.createCounter("bspump.analyzer", { pipeline: pipeline.id, analyzer: this.id }, ["results", "missing_time", "missing_dimension", "bad_value"]);
    app.metrics.addCollector(() => [
      { name: "bspump.pipeline.profiler", type: "counter", tags: { pipeline: pipeline.id, processor: `analyzer_${this.id}` }, fields: { run: this.analyzeRuns, duration: this.analyzeSeconds } },
    ]);
  }

  /** Whether `evaluate` should see the event (default: always). */
  predicate(_context: EventContext, _event: unknown): boolean {
    return true;
  }

  /** Takes the event into the analyzer's state. */
  evaluate(_context: EventContext, _event: unknown): void {}

  /** Produces results from the state (emit them with `emit`). */
  analyze(): void {}

  process(context: EventContext, event: unknown): unknown {
    if (this.predicate(context, event)) this.evaluate(context, event);
    return event;
  }

  /** Runs analyze() and records its time under the profiler key `analyzer_<id>`. */
  runAnalyze(): void {
    const t0 = performance.now();
    try {
      this.analyze();
    } catch (e) {
      this.pipeline.log.error(`Analyzer '${this.id}' failed in analyze()`, { error: toError(e) });
    }
    this.analyzeRuns++;
    this.analyzeSeconds += (performance.now() - t0) / 1000;
  }

  /** Sends an event to an InternalSource address ("Pipeline.*SourceId"). */
  protected routeTo(address: string, event: unknown): void {
    this.router.route({}, event, address, false);
  }

  /** Sends a result to the target pipeline and/or the sink. */
  emit(result: Record<string, unknown>): void {
    this.counter.values.results!++;
    if (this.target !== "") this.router.route(this.resultContext ?? {}, result, this.target, false);
    const sink = this.sinkOption;
    if (sink === undefined) return;
    if (typeof sink === "function") sink(result, this);
    else {
      const r = sink.process({}, result);
      if (r instanceof Promise) r.catch((e: unknown) => this.pipeline.log.error(`Analyzer '${this.id}': result sink failed`, { error: toError(e) }));
    }
  }

  /** Emits a result of a part of this analyzer (a partitioned one's), under this analyzer's id. */
  protected emitOfPart(result: Record<string, unknown>): void {
    if ("analyzer" in result) result.analyzer = this.id;
    this.emit(result);
  }

  /**
   * Records bad input of a kind (`missing_time`, `missing_dimension`, `bad_value`, …): counted,
   * logged (the first few in full), a pipeline warning. When the pipeline dead-letters, throws so
   * that the event goes to the dead-letter target.
   */
  protected badInput(kind: string, message: string): void {
    this.counter.add(kind);
    if (this.pipeline.deadLetter !== null) throw new ProcessingError(`${this.id}: ${message}`);
    if (this.badLogged < BAD_INPUT_LOG_LIMIT) {
      this.badLogged++;
      // A warn record counts as a pipeline warning.
      this.pipeline.log.warn(`${this.id}: ${message}${this.badLogged === BAD_INPUT_LOG_LIMIT ? " (further bad input is only counted)" : ""}`, { analyzer: this.id, kind });
    } else {
      this.pipeline.countWarning();
    }
  }

  override start(): void {
    super.start();
    if (this.target !== "") {
      try {
        this.router.locate(this.target);
      } catch {
        // The target pipeline may be registered later; it is located again on the first result.
      }
    }
    if (this.analyzeOnClock && this.timer === null) this.timer = setInterval(this.onTrigger, this.analyzePeriod * 1000);
    const on = this.config.getString("analyze_on");
    if (on !== "") this.app.pubsub.subscribe(on, this.onTrigger);
  }

  override async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const on = this.config.getString("analyze_on");
    if (on !== "") this.app.pubsub.unsubscribe(on, this.onTrigger);
    this.onStop();
  }

  /** Hook for a final analysis when the pipeline stops (flush what is still open). */
  protected onStop(): void {}
}

/** Seconds since the epoch from a number (seconds, or milliseconds with `unitMs`), a Date or an ISO string; NaN when not a time. */
export function toSeconds(value: unknown, unitMs = false): number {
  if (typeof value === "number") return unitMs ? value / 1000 : value;
  if (typeof value === "string") {
    if (value === "") return NaN;
    const n = Number(value);
    if (Number.isFinite(n)) return unitMs ? n / 1000 : n;
    return Date.parse(value) / 1000;
  }
  if (value instanceof Date) return value.getTime() / 1000;
  return NaN;
}

/** A number from a number or a numeric string; NaN otherwise. */
export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") return Number(value);
  return NaN;
}
