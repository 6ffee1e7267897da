import {
  ConfigError,
  Generator,
  Receipt,
  ReceiptTally,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type ConfigSpec, type TypedConfig,
} from "../core/index.js";
import { ListAggregationStrategy, type AggregationStrategy } from "./AggregationStrategy.js";

const ABANDONED = new Error("aggregate dropped: its events are read again (their transaction aborted)");

export interface AggregatorOptions extends ComponentOptions {
  aggregationStrategy?: AggregationStrategy;
}

const CONFIG = {
  completion_size: { type: "int", default: 10, doc: "Flush when this many events are collected", min: 1 },
  completion_timeout: { type: "float", default: 0, doc: "Flush when this many seconds passed since the last flush (0 = off)", min: 0 },
  completion_interval: { type: "float", default: 0, doc: "Flush every this many seconds (0 = off)", min: 0 },
} satisfies ConfigSpec;

/**
 * Collects events and injects one aggregate into the next depth when `completion_size` events
 * are in, when `completion_timeout` passed since the last flush, or every `completion_interval`;
 * what remains is flushed on stop. The aggregated events stay unacknowledged (their receipts
 * pending) until the aggregate is delivered.
 */
export class Aggregator extends Generator {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  // BSPump shared one default strategy between all aggregators [QUIRK]; each gets its own here.
  readonly strategy: AggregationStrategy;
  private readonly completionSize: number;
  private readonly completionTimeout: number;
  private readonly completionInterval: number;
  private currentSize = 0;
  private lastFlushTime: number;
  private readonly receipts = new ReceiptTally();
  private lastReceipt: Receipt | undefined = undefined;
  /** Aggregates dropped because their events are to be read again (Receipt.abandon). */
  abandonedAggregates = 0;
  private readonly onTick = (): void => this.checkTime();

  constructor(app: Application, pipeline: Pipeline, options: AggregatorOptions = {}) {
    super(app, pipeline, options);
    this.strategy = options.aggregationStrategy ?? new ListAggregationStrategy();
    this.completionSize = this.config.getInt("completion_size");
    this.completionTimeout = this.config.getFloat("completion_timeout");
    this.completionInterval = this.config.getFloat("completion_interval");
    if (this.completionTimeout > 0 && this.completionInterval > 0) {
      throw new ConfigError(`${this.config.where("completion_interval")}: set completion_timeout or completion_interval, not both`);
    }
    this.lastFlushTime = app.time();
    app.pubsub.subscribe("Application.tick!", this.onTick);
  }

  generate(context: EventContext, event: unknown, _depth: number): void {
    // Keep the event's receipt open until the aggregate that contains it is delivered.
    const receipt = context.receipt;
    if (receipt) {
      // What is held of an aborted Kafka transaction is read again: not aggregated with what follows.
      if (receipt !== this.lastReceipt) {
        this.lastReceipt = receipt;
        if (this.receipts.anyAbandoned()) this.discard();
      }
      receipt.add();
      this.receipts.add(receipt);
    }
    this.strategy.append(context, event);
    if (++this.currentSize >= this.completionSize) this.flush();
  }

  flush(): void {
    // BSPump did not reset the size on timed flushes [BUG]; every flush resets it here.
    this.currentSize = 0;
    this.lastFlushTime = this.app.time();
    if (this.strategy.isEmpty()) return;
    if (this.receipts.anyAbandoned()) return this.discard();
    const aggregate = this.strategy.flush();
    const held = this.receipts.take();
    const receipt = new Receipt((r) => (r.error ? held.failAll(r.error) : held.settleAll()));
    this.pipeline.inject({ receipt }, aggregate, this.depth);
    receipt.seal();
  }

  /** Drops the aggregate being built: its events' sources hand them over again. */
  private discard(): void {
    this.strategy.flush();
    this.currentSize = 0;
    this.abandonedAggregates++;
    this.receipts.take().failAll(ABANDONED);
  }

  private checkTime(): void {
    if (this.currentSize === 0) return;
    const limit = this.completionTimeout > 0 ? this.completionTimeout : this.completionInterval;
    if (limit > 0 && this.app.time() - this.lastFlushTime >= limit) this.flush();
  }

  override async stop(): Promise<void> {
    this.flush();
  }
}
