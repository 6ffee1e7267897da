import { Processor, type Application, type ComponentOptions, type ConfigSpec, type Counter, type EventContext, type Pipeline, type TypedConfig } from "../core/index.js";

const CONFIG = {
  max_time_drift: { type: "float", default: 60, doc: "Seconds an event may lag behind now before it is dropped" },
} satisfies ConfigSpec;

/**
 * BSPump's TimeDriftFilter: drops events whose `@timestamp` (seconds) lags more than
 * `max_time_drift` seconds behind `app.time()`; a lag equal to the limit, and any event from the
 * future, passes. An event without a numeric `@timestamp` is dropped and counted as
 * `timestamp.error` (BSPump crashed on a non-numeric one). Counter `timedriftfilter.status`
 * (tag `pipeline`): `event.in`, `event.out`, `event.drop`, `timestamp.error`.
 */
export class TimeDriftFilter extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly counter: Counter;
  private readonly maxDrift: number;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.maxDrift = this.config.getFloat("max_time_drift");
    this.counter = app.metrics.createCounter("timedriftfilter.status", { pipeline: pipeline.id }, ["event.in", "event.out", "event.drop", "timestamp.error"]);
  }

  process(_context: EventContext, event: unknown): unknown {
    this.counter.add("event.in");
    const ts = typeof event === "object" && event !== null ? (event as Record<string, unknown>)["@timestamp"] : undefined;
    if (typeof ts !== "number" || !Number.isFinite(ts)) {
      this.counter.add("timestamp.error");
      return null;
    }
    if (this.app.time() - ts > this.maxDrift) {
      this.counter.add("event.drop");
      return null;
    }
    this.counter.add("event.out");
    return event;
  }
}
