import type { ConfirmChannel } from "amqplib";
import {
  ConfigError,
  locateConnection,
  ProcessingError,
  Sink,
  toError,
  Waiters,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type ConfigSpec, type TypedConfig,
} from "../core/index.js";
import { AMQPConnection } from "./AMQPConnection.js";
import { ConfirmQueue } from "./ConfirmQueue.js";

const CONFIG = {
  exchange: { type: "string", default: "amq.direct", doc: "Exchange to publish to; '!context' reads context['amqp.exchange']" },
  routing_key: { type: "string", default: "", doc: "Routing key; '!context' reads context['amqp.routing_key']" },
  content_type: { type: "string", default: "text/plain", doc: "The content_type property of published messages" },
  delivery_mode: { type: "int", default: 2, doc: "2: persistent (survives a broker restart on a durable queue); 1: transient, as BSPump" },
  max_unconfirmed: { type: "int", default: 1000, doc: "Messages awaiting a broker confirm above which the pipeline is throttled" },
} satisfies ConfigSpec;

/**
 * Publishes events to a RabbitMQ exchange on a confirm channel. A Buffer is sent as is, a string as
 * UTF-8, anything else as JSON. `exchange` and `routing_key` may be `!context`: they are then read
 * from the event's context (`amqp.exchange`, `amqp.routing_key`).
 *
 * Delivery: receipts are settled when the broker confirmed the message (`basic.ack`), failed when it
 * refused it or the channel closed first (the source then redelivers). The pipeline is throttled
 * while no channel is open, while more than `max_unconfirmed` messages await a confirm, and while
 * the channel's write buffer is full (until its `drain`).
 */
export class AMQPSink extends Sink {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  override readonly settlesReceipts = true;
  readonly connection: AMQPConnection;
  private readonly exchange: string;
  private readonly exchangeFromContext: boolean;
  private readonly routingKey: string;
  private readonly routingKeyFromContext: boolean;
  private readonly options: { contentType: string; deliveryMode: number };
  private readonly maxUnconfirmed: number;
  private channel: ConfirmChannel | null = null;
  private readonly confirms = new ConfirmQueue();
  private readonly reasons = new Set<string>();
  private opening = false;
  private stopped = false;
  private readonly confirmed = new Waiters();
  readonly counts = { published: 0, confirmed: 0, refused: 0, failed: 0 };

  private readonly onConfirm = (err: unknown): void => {
    if (err) {
      const error = toError(err);
      // amqplib reports a broker nack and a channel that closed before confirming the same way.
      if (/nack/i.test(error.message)) this.counts.refused++;
      else this.counts.failed++;
      this.confirms.shift(new ProcessingError(`The broker did not confirm a message: ${error.message}`));
    } else {
      this.counts.confirmed++;
      this.confirms.shift(null);
    }
    if (this.confirms.size <= this.maxUnconfirmed / 2) this.setReason("unconfirmed", false);
    if (this.confirms.size === 0) this.confirmed.wakeAll();
  };
  private readonly onOpen = (): void => void this.openChannel();

  constructor(app: Application, pipeline: Pipeline, connection: string | AMQPConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, AMQPConnection);
    this.exchange = this.config.getString("exchange");
    this.exchangeFromContext = this.exchange === "!context";
    this.routingKey = this.config.getString("routing_key");
    this.routingKeyFromContext = this.routingKey === "!context";
    this.options = { contentType: this.config.getString("content_type"), deliveryMode: this.config.getInt("delivery_mode") };
    if (this.options.deliveryMode !== 1 && this.options.deliveryMode !== 2) throw new ConfigError(`[${this.config.section}] key 'delivery_mode' must be 1 or 2, got ${this.options.deliveryMode}`);
    this.maxUnconfirmed = Math.max(1, this.config.getInt("max_unconfirmed"));
    app.metrics.addCollector(() => [{ name: "bspump.amqp.sink", type: "counter", tags: { pipeline: pipeline.id, sink: this.id }, fields: { ...this.counts, unconfirmed: this.confirms.size } }]);
  }

  static override ConnectionClass = AMQPConnection;

  override start(): void {
    this.stopped = false;
    // As in BSPump, the pipeline starts throttled by the sink until a channel is open.
    this.setReason("channel", true);
    this.connection.pubsub.subscribe("AMQPConnection.open!", this.onOpen);
    void this.openChannel();
  }

  private async openChannel(): Promise<void> {
    if (this.opening || this.channel !== null || this.stopped) return;
    this.opening = true;
    try {
      const model = await this.connection.whenOpen();
      if (model === null || this.stopped) return;
      const channel = await model.createConfirmChannel();
      channel.on("error", (e: Error) => this.pipeline.log.warn(`${this.id}: AMQP channel error: ${e.message}`));
      channel.on("drain", () => this.setReason("drain", false));
      channel.on("close", () => this.channelClosed(channel));
      this.channel = channel;
      this.setReason("channel", false);
    } catch (e) {
      this.pipeline.log.warn(`${this.id}: cannot open a channel: ${toError(e).message}`);
      setTimeout(() => void this.openChannel(), 1000).unref();
    } finally {
      this.opening = false;
    }
  }

  private channelClosed(channel: ConfirmChannel): void {
    if (this.channel !== channel) return;
    this.channel = null;
    // amqplib fails the pending confirm callbacks; anything left is failed here.
    if (this.confirms.size > 0) {
      this.counts.failed += this.confirms.size;
      this.confirms.failAll(new ProcessingError("AMQP channel closed before the broker confirmed"));
    }
    this.setReason("unconfirmed", false);
    this.setReason("drain", false);
    this.confirmed.wakeAll();
    if (this.stopped) return;
    this.setReason("channel", true);
    void this.openChannel();
  }

  private setReason(reason: string, on: boolean): void {
    if (on === this.reasons.has(reason)) return;
    const before = this.reasons.size > 0;
    if (on) this.reasons.add(reason);
    else this.reasons.delete(reason);
    const after = this.reasons.size > 0;
    if (before !== after) this.pipeline.throttle(this, after);
  }

  process(context: EventContext, event: unknown): null {
    const channel = this.channel;
    if (channel === null) throw new ProcessingError(`${this.id}: no open AMQP channel`);
    let body: Buffer;
    if (Buffer.isBuffer(event)) body = event;
    else if (typeof event === "string") body = Buffer.from(event, "utf8");
    else if (event instanceof Uint8Array) body = Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    else {
      const json = JSON.stringify(event);
      if (json === undefined) throw new ProcessingError(`${this.id}: cannot serialise a ${typeof event} event`);
      body = Buffer.from(json, "utf8");
    }
    const exchange = this.exchangeFromContext ? context["amqp.exchange"] : this.exchange;
    const routingKey = this.routingKeyFromContext ? context["amqp.routing_key"] : this.routingKey;
    if (typeof exchange !== "string") throw new ProcessingError(`${this.id}: context['amqp.exchange'] is not a string`);
    if (typeof routingKey !== "string") throw new ProcessingError(`${this.id}: context['amqp.routing_key'] is not a string`);
    let ok: boolean;
    try {
      ok = channel.publish(exchange, routingKey, body, this.options, this.onConfirm);
    } catch (e) {
      // The channel closed under us (connection lost) before its close event: a transient failure,
      // not bad input. The event's receipt fails (the source redelivers it) and the pipeline waits
      // for a new channel instead of entering its error state.
      this.counts.failed++;
      const error = new ProcessingError(`${this.id}: publish failed: ${toError(e).message}`);
      if (context.receipt) context.receipt.fail(error);
      else this.pipeline.log.warn(`${error.message}; the event had no receipt and is lost`);
      this.setReason("channel", true);
      return null;
    }
    // Confirms arrive from the network, never synchronously: pushing after publish is safe.
    this.confirms.push(context.receipt);
    this.counts.published++;
    if (!ok) this.setReason("drain", true);
    if (this.confirms.size >= this.maxUnconfirmed) this.setReason("unconfirmed", true);
    return null;
  }


  /** Resolves when every published message was confirmed (or failed). */
  whenConfirmed(): Promise<void> {
    if (this.confirms.size === 0) return Promise.resolve();
    return this.confirmed.wait();
  }

  /** Waits for the outstanding confirms, then closes the channel. */
  override async stop(): Promise<void> {
    await this.whenConfirmed();
    this.stopped = true;
    this.connection.pubsub.unsubscribe("AMQPConnection.open!", this.onOpen);
    const channel = this.channel;
    this.channel = null;
    if (channel) await channel.close().catch(() => {});
    this.reasons.clear();
    this.pipeline.throttle(this, false);
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Open: this.channel !== null, Unconfirmed: this.confirms.size, Counts: { ...this.counts } };
  }
}
