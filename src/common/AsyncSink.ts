import { BatchingSink, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline, type SentBatch, type TypedConfig } from "../core/index.js";

const CONFIG = {
  output_queue_max_size: { type: "int", default: 100, min: 1, doc: "Events waiting for consume() before the pipeline is throttled" },
} satisfies ConfigSpec;

/** One event waiting for `consume()`. */
interface Item {
  context: EventContext;
  event: unknown;
}

/**
 * BSPump's `bspump.aio.AsyncSink`: the generic adapter for a sink whose write is asynchronous.
 * Override `consume(context, event)`; events are consumed one at a time, in order. The queue is
 * BatchingSink's (batches of one event): the pipeline is throttled while `output_queue_max_size`
 * events wait and released when half of them are done (BSPump: at max − 1), a receipt settles when
 * `consume()` resolved, a `RetryableError` is retried with backoff, and a failure goes through the
 * pipeline's error rules (counted, dead-lettered) where BSPump only logged it. Stop waits for the
 * queue (BSPump cancelled it).
 */
export abstract class AsyncSink extends BatchingSink<Item> {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private open: Item | null = null;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    // A RetryableError from consume() is retried until it succeeds (the pipeline throttled meanwhile), as InfluxDBSink does.
    this.batching({ count: 1, period: 0, pendingUnit: "events", maxPending: this.config.getInt("output_queue_max_size"), retries: Infinity, retryDelay: 1, maxRetryDelay: 30 });
  }

  /** Writes one event; the next waits until it resolved. */
  protected abstract consume(context: EventContext, event: unknown): Promise<void>;

  process(context: EventContext, event: unknown): null {
    this.open = { context, event };
    this.added(context.receipt, 1);
    return null;
  }

  protected takeBatch(): Item {
    const item = this.open!;
    this.open = null;
    return item;
  }

  protected send(batch: SentBatch<Item>): Promise<void> {
    return this.consume(batch.data.context, batch.data.event);
  }

  /** The event itself (not the queue's item) goes through the error rules. */
  protected override sendFailed(batch: SentBatch<Item>, error: Error): void {
    this.batchFailed(batch.tally, batch.data.event, error);
  }
}
