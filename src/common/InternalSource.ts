import { Source, Waiters, type Application, type ComponentOptions, type EventContext, type Pipeline, type ConfigSpec, type TypedConfig, type WorkerSharing } from "../core/index.js";

const CONFIG = {
  queue_max_size: { type: "int", default: 10, doc: "Queue capacity (0 = unlimited)", min: 0 },
  backpressure: { type: "float", default: 0.8, doc: "Share of the capacity at which routers are throttled (above 0, at most 1)", min: 0.000001, max: 1 },
} satisfies ConfigSpec;

/**
 * Receives events routed from other pipelines (RouterSink, RouterProcessor, TeeProcessor) through
 * a bounded queue. Crossing the back-pressure mark publishes `bspump.InternalSource.backpressure_on!`
 * (and `_off!` below it) on its pipeline's PubSub; routers throttle their pipeline on it.
 */
export class InternalSource extends Source {
  // Fed from inside the process: runs wherever its feeders run.
  static override WorkerSharing: WorkerSharing = "inherited";
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private queue: [EventContext, unknown][] = [];
  private head = 0;
  private readonly maxSize: number;
  private readonly limit: number;
  backPressure = false;
  private drained = false;
  private wake: (() => void) | null = null;
  private readonly room = new Waiters();

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.maxSize = this.config.getInt("queue_max_size");
    const ratio = this.config.getFloat("backpressure");
    const size = this.maxSize === 1 ? 2 : this.maxSize;
    let limit = Math.floor(size * ratio);
    if (limit >= size) limit = size - 1;
    this.limit = this.maxSize === 0 ? Infinity : Math.max(1, limit);
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  /**
   * Queues an event; throws when the queue is full (use a router, which throttles on back-pressure,
   * or `putAsync`). The upstream context becomes `ancestor`; its delivery receipt is carried over.
   */
  put(context: EventContext, event: unknown, copyContext = false, copyEvent = false): void {
    if (this.maxSize > 0 && this.size >= this.maxSize) throw new Error(`InternalSource '${this.locateAddress()}' queue is full (${this.maxSize})`);
    this.enqueue(context, event, copyContext, copyEvent);
  }

  /** Queues an event, waiting for space. */
  async putAsync(context: EventContext, event: unknown, copyContext = false, copyEvent = false): Promise<void> {
    while (this.maxSize > 0 && this.size >= this.maxSize) await this.room.wait();
    this.enqueue(context, event, copyContext, copyEvent);
  }

  /**
   * Queues an event even past `queue_max_size`. Routers use it: they never drop, and the
   * back-pressure throttle bounds how far past the limit the queue can grow.
   */
  putEvenIfFull(context: EventContext, event: unknown, copyContext = false, copyEvent = false): void {
    this.enqueue(context, event, copyContext, copyEvent);
  }

  private enqueue(context: EventContext, event: unknown, copyContext: boolean, copyEvent: boolean): void {
    const ctx = copyContext ? deepCopyContext(context) : context;
    if (this.drained) {
      // Late arrivals after stop go straight through rather than wait in a queue nobody reads.
      this.pipeline.process(copyEvent ? structuredClone(event) : event, { ancestor: ctx, receipt: ctx.receipt });
      return;
    }
    // The queued copy holds a count on the receipt until this pipeline took it over.
    context.receipt?.add();
    this.queue.push([ctx, copyEvent ? structuredClone(event) : event]);
    if (!this.backPressure && this.size >= this.limit) {
      this.backPressure = true;
      this.pipeline.pubsub.publish("bspump.InternalSource.backpressure_on!", { source: this });
    }
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async main(): Promise<void> {
    while (!this.stopping) {
      if (this.size === 0) {
        await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), this.untilStopped]);
        continue;
      }
      const go = this.whenReady();
      if (go !== true && !(await go)) break;
      const [ctx, event] = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as [EventContext, unknown];
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (this.backPressure && this.size < this.limit) {
        this.backPressure = false;
        this.pipeline.pubsub.publish("bspump.InternalSource.backpressure_off!", { source: this });
      }
      this.room.wakeOne();
      this.pipeline.process(event, { ancestor: ctx, receipt: ctx.receipt });
      ctx.receipt?.settle();
    }
  }

  /**
   * On stop, events already queued are still handed over before the pipeline flushes, so nothing
   * routed here is lost. (The PumpService stops upstream pipelines first.)
   */
  override async stop(): Promise<void> {
    await super.stop();
    this.room.wakeAll();
    while (this.size > 0) {
      const [ctx, event] = this.queue[this.head]!;
      this.head++;
      this.pipeline.process(event, { ancestor: ctx, receipt: ctx.receipt });
      ctx.receipt?.settle();
    }
    this.queue = [];
    this.head = 0;
    this.drained = true;
  }

  override start(): void {
    this.drained = false;
    super.start();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Queue: this.size, BackPressure: this.backPressure };
  }
}

/** A deep copy of a context that keeps the same delivery receipt (a receipt is shared, not copied). */
export function deepCopyContext(context: EventContext): EventContext {
  const { receipt, ...rest } = context;
  const copy = structuredClone(rest) as EventContext;
  if (receipt) copy.receipt = receipt;
  return copy;
}
