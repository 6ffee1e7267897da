import type { Channel, ConsumeMessage } from "amqplib";
import {
  locateConnection,
  Receipt,
  Source,
  toError,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type ConfigSpec, type TypedConfig,
  type WorkerSharing,
} from "../core/index.js";
import { AMQPConnection } from "./AMQPConnection.js";

/** One batch of deliveries handed over under one receipt; acknowledged in delivery order. */
interface Batch {
  last: ConsumeMessage | null;
  size: number;
  done: boolean;
  error: Error | null;
}

/** What one channel's consumption keeps. */
interface ChannelState {
  channel: Channel;
  open: boolean;
  consumerTag: string | null;
  /** Batches not yet acknowledged, oldest first. */
  batches: Batch[];
  closed: Promise<void>;
}

const CONFIG = {
  queue: { type: "string", default: "q", doc: "Queue to consume" },
  error_exchange: { type: "string", default: "error", doc: "Unused (kept for BSPump compatibility)" },
  prefetch_count: { type: "int", default: 1000, doc: "Unacknowledged messages the broker sends ahead (QoS); bounds the memory used" },
  receipt_messages: { type: "int", default: 1000, doc: "Messages handed over under one delivery receipt (acknowledged together), at most" },
  requeue_failed: { type: "bool", default: true, doc: "Nack with requeue when delivery failed (false: the broker drops or dead-letters them)" },
} satisfies ConfigSpec;

/**
 * Consumes a RabbitMQ queue with manual acknowledgement. Each message body (a Buffer) becomes an
 * event, with the context keys `amqp:method` (exchange, routingKey, deliveryTag, redelivered,
 * consumerTag) and `amqp:properties` (headers, contentType, …), as BSPump names them.
 *
 * Delivery: the messages taken from the channel at once (up to `receipt_messages`) form a batch with one receipt; a batch is
 * acknowledged (`basic.ack` multiple) only when its receipt settled — every event written by the
 * sink or dropped — and only after every earlier batch, so the broker never forgets a message that
 * was not delivered. A failed receipt is nacked with requeue (redelivery). Unacknowledged messages
 * are bounded by `prefetch_count`. While the pipeline is not ready (throttled or in error) the
 * consumer is cancelled, so the broker keeps new messages for other consumers, and it resumes when
 * the pipeline is ready again. After a connection loss it consumes again once reconnected.
 */
export class AMQPSource extends Source {
  // Competing consumers of one queue.
  static override WorkerSharing: WorkerSharing = "shared";
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly connection: AMQPConnection;
  readonly queue: string;
  private readonly prefetch: number;
  private readonly requeueFailed: boolean;
  private readonly receiptMessages: number;
  private state: ChannelState | null = null;
  private buffer: ConsumeMessage[] = [];
  private wake: (() => void) | null = null;
  private consumerOps: Promise<void> = Promise.resolve();
  /** Messages handed to the pipeline, acknowledged and nacked, and batches (for metrics and tests). */
  readonly counts = { received: 0, acked: 0, nacked: 0, ackedBatches: 0, nackedBatches: 0, requeuedUnprocessed: 0 };

  private readonly onNotReady = (): void => {
    this.pauseConsumer();
    this.signal();
  };
  private readonly onReady = (): void => {
    this.signal();
  };

  constructor(app: Application, pipeline: Pipeline, connection: string | AMQPConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, AMQPConnection);
    this.queue = this.config.getString("queue");
    this.prefetch = Math.max(1, this.config.getInt("prefetch_count"));
    this.requeueFailed = this.config.getBool("requeue_failed");
    this.receiptMessages = Math.max(1, this.config.getInt("receipt_messages"));
    app.metrics.addCollector(() => [{ name: "bspump.amqp.source", type: "counter", tags: { pipeline: pipeline.id, source: this.id }, fields: { ...this.counts } }]);
  }

  static override ConnectionClass = AMQPConnection;

  /** Builds the event from a delivery (AMQPFullMessageSource overrides it). */
  protected eventOf(message: ConsumeMessage): unknown {
    return message.content;
  }

  async main(): Promise<void> {
    this.pipeline.pubsub.subscribe("bspump.pipeline.not_ready!", this.onNotReady);
    this.pipeline.pubsub.subscribe("bspump.pipeline.ready!", this.onReady);
    try {
      while (!this.stopping) {
        const model = await Promise.race([this.connection.whenOpen(), this.untilStopped.then(() => null)]);
        if (model === null || this.stopping) return;
        try {
          await this.consumeOn(await model.createChannel());
        } catch (e) {
          if (this.stopping) return;
          this.log.warn(`Consuming '${this.queue}' failed: ${toError(e).message}; retrying`);
          if (!(await this.sleep(1))) return;
        }
      }
    } finally {
      this.pipeline.pubsub.unsubscribe("bspump.pipeline.not_ready!", this.onNotReady);
      this.pipeline.pubsub.unsubscribe("bspump.pipeline.ready!", this.onReady);
      this.requeueBuffered();
    }
  }

  private async consumeOn(channel: Channel): Promise<void> {
    let markClosed!: () => void;
    const state: ChannelState = { channel, open: true, consumerTag: null, batches: [], closed: new Promise((r) => (markClosed = r)) };
    channel.on("error", (e: Error) => this.log.warn(`AMQP channel error: ${e.message}`));
    channel.on("close", () => {
      state.open = false;
      state.consumerTag = null;
      if (this.state === state) {
        // Deliveries not yet handed over will be redelivered by the broker.
        this.buffer.length = 0;
      }
      markClosed();
      this.signal();
    });
    await channel.prefetch(this.prefetch);
    await channel.checkQueue(this.queue);
    this.state = state;
    while (!this.stopping && state.open) {
      if (this.pipeline.isReady()) this.resumeConsumer();
      else this.pauseConsumer();
      if (this.buffer.length === 0) {
        await this.waitSignal(state);
        continue;
      }
      await this.handOver(state);
    }
    if (!state.open && !this.stopping) this.log.warn(`Channel for '${this.queue}' closed; consuming again when possible`);
  }

  /** Hands the buffered deliveries to the pipeline as one batch under one receipt. */
  private async handOver(state: ChannelState): Promise<void> {
    let messages = this.buffer;
    if (messages.length <= this.receiptMessages) this.buffer = [];
    else {
      this.buffer = messages.slice(this.receiptMessages);
      messages = messages.slice(0, this.receiptMessages);
    }
    const batch: Batch = { last: null, size: 0, done: false, error: null };
    state.batches.push(batch);
    const receipt = new Receipt((r) => this.batchDone(state, batch, r.error));
    let i = 0;
    try {
      for (; i < messages.length; i++) {
        const go = this.whenReady();
        // In error mid-batch: the rest goes back to the queue now (the batch is redelivered anyway
        // when its receipt failed; handed over after the clear, it was processed twice). A batch
        // not started yet waits for the clear (nacked at once, it could come straight back).
        if (go !== true && ((i > 0 && this.pipeline.isError()) || !(await go))) break;
        if (!state.open) break;
        const message = messages[i]!;
        batch.last = message;
        batch.size++;
        this.counts.received++;
        const context: EventContext = { receipt, "amqp:method": message.fields, "amqp:properties": message.properties };
        this.pipeline.process(this.eventOf(message), context);
      }
    } finally {
      // What was not handed over (stopping, in error, channel lost) goes back to the queue at once.
      for (let j = i; j < messages.length; j++) this.nack(state, messages[j]!, false, true, true);
      receipt.seal();
    }
  }

  private batchDone(state: ChannelState, batch: Batch, error: Error | null): void {
    batch.done = true;
    batch.error = error;
    const batches = state.batches;
    while (batches.length > 0 && batches[0]!.done) {
      const b = batches.shift()!;
      if (b.last === null) continue;
      if (b.error === null) {
        if (state.open) {
          try {
            state.channel.ack(b.last, true);
            this.counts.ackedBatches++;
            this.counts.acked += b.size;
          } catch (e) {
            this.log.warn(`Ack failed (the broker will redeliver): ${toError(e).message}`);
          }
        }
      } else if (this.nack(state, b.last, true, this.requeueFailed, false)) {
        this.counts.nackedBatches++;
        this.counts.nacked += b.size;
      }
    }
    if (batches.length === 0) this.signal();
  }

  private nack(state: ChannelState, message: ConsumeMessage, allUpTo: boolean, requeue: boolean, unprocessed: boolean): boolean {
    if (!state.open) return false;
    try {
      state.channel.nack(message, allUpTo, requeue);
      if (unprocessed) this.counts.requeuedUnprocessed++;
      return true;
    } catch (e) {
      this.log.warn(`Nack failed (the broker will redeliver): ${toError(e).message}`);
      return false;
    }
  }

  private readonly onMessage = (message: ConsumeMessage | null): void => {
    if (message === null) {
      this.log.warn(`Consumer of '${this.queue}' was cancelled by the broker`);
      if (this.state) this.state.consumerTag = null;
      this.signal();
      return;
    }
    this.buffer.push(message);
    if (this.buffer.length === 1) this.signal();
  };

  private resumeConsumer(): void {
    const state = this.state;
    if (state === null || !state.open || state.consumerTag !== null || this.stopping) return;
    state.consumerTag = "";
    this.consumerOps = this.consumerOps.then(async () => {
      try {
        const reply = await state.channel.consume(this.queue, this.onMessage, { noAck: false });
        state.consumerTag = reply.consumerTag;
        if (!this.pipeline.isReady() || this.stopping) this.pauseConsumer();
      } catch (e) {
        state.consumerTag = null;
        this.log.warn(`Cannot consume '${this.queue}': ${toError(e).message}`);
      }
    });
  }

  /** Cancels the consumer: the broker stops sending; messages already delivered stay ours. */
  private pauseConsumer(): void {
    const state = this.state;
    if (state === null || !state.open || state.consumerTag === null) return;
    this.consumerOps = this.consumerOps.then(async () => {
      const tag = state.consumerTag;
      if (tag === null || tag === "" || !state.open) return;
      state.consumerTag = null;
      try {
        await state.channel.cancel(tag);
      } catch (e) {
        this.log.debug(`Cancel failed: ${toError(e).message}`);
      }
    });
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async waitSignal(state: ChannelState): Promise<void> {
    await Promise.race([new Promise<void>((r) => (this.wake = r)), state.closed, this.untilStopped]);
    this.wake = null;
  }

  private requeueBuffered(): void {
    const state = this.state;
    if (state === null) return;
    for (const m of this.buffer) this.nack(state, m, false, true, true);
    this.buffer = [];
  }

  protected override async onStop(): Promise<void> {
    this.pauseConsumer();
    await this.consumerOps;
    this.signal();
  }

  /** After the pipeline flushed: acknowledge what settled, then close the channel (the broker requeues the rest). */
  override async finalize(): Promise<void> {
    const state = this.state;
    if (state === null) return;
    const deadline = Date.now() + 5000;
    while (state.open && state.batches.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.state = null;
    if (state.open) await state.channel.close().catch(() => {});
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Queue: this.queue, Consuming: this.state?.consumerTag ? true : false, Counts: { ...this.counts } };
  }
}

/** Like AMQPSource, but the event is `[fields, properties, body]` (BSPump's (method, properties, body)). */
export class AMQPFullMessageSource extends AMQPSource {
  protected override eventOf(message: ConsumeMessage): unknown {
    return [message.fields, message.properties, message.content];
  }
}

