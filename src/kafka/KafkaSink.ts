import {
  ConfigError,
  locateConnection,
  ReceiptTally,
  Sink,
  toError,
  ThrottleSwitch,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type ConfigSpec,
} from "../core/index.js";
import { KafkaConnection, type KafkaHeaderObject, type KafkaHeadersInput, type KafkaOutgoing, type KafkaProducerClient } from "./KafkaConnection.js";

/** Messages buffered for one produce request, with the receipts of their events. */
interface OutBatch {
  byTopic: Map<string, KafkaOutgoing[]>;
  tally: ReceiptTally;
  count: number;
}

/**
 * Produces each event (bytes or a string) to Kafka. The topic is the context's `kafka_topic`, or
 * `topic`; the key and headers come from the context's `kafka_key` and `kafka_headers` (so records
 * from a KafkaSource keep theirs). Events are batched by count (`batch.num.messages`), bytes
 * (`batch.size`) and time (`linger.ms`), sent by an idempotent producer one request at a time, and
 * their delivery receipts are settled when the broker acknowledges. A send that still fails after
 * the client's retries fails the receipts (the source does not commit them) and puts the pipeline
 * into its error state — it is never counted as delivered. While more than `watermark.high`
 * messages are buffered or in flight, the pipeline is throttled, until they drop to `watermark.low`.
 */
export class KafkaSink extends Sink {
  static override ConfigDefaults: ConfigSpec = {
    topic: { type: "string", default: "unconfigured", doc: "Topic, unless the context has kafka_topic" },
    "watermark.low": { type: "int", default: 10000, doc: "Un-throttle the pipeline when queued messages drop to this" },
    "watermark.high": { type: "int", default: 20000, doc: "Throttle the pipeline when queued (buffered and in-flight) messages exceed this" },
    "batch.num.messages": { type: "int", default: 10000, doc: "Most messages per produce request" },
    "batch.size": { type: "int", default: 1000000, doc: "Most bytes (keys, values and record overhead, estimated) per produce request" },
    "linger.ms": { type: "int", default: 500, doc: "Longest wait for a batch to fill before it is sent" },
    "enable.idempotence": { type: "bool", default: true, doc: "Idempotent producer: retries do not duplicate records" },
    acks: { type: "int", default: -1, doc: "-1: all in-sync replicas; 1: the leader; 0: none (not with idempotence)" },
    retries: { type: "int", default: 5, doc: "Client retries of a failed produce request before the events fail" },
    "request.timeout.ms": { type: "int", default: 30000, doc: "Broker acknowledgement timeout" },
    "compression.type": { type: "string", default: "", doc: "none or gzip; empty: the connection's compression_type" },
  };

  override readonly settlesReceipts = true;
  readonly connection: KafkaConnection;
  readonly topic: string;
  private readonly low: number;
  private readonly high: number;
  private readonly batchCount: number;
  private readonly batchBytes: number;
  private readonly linger: number;

  private producer: KafkaProducerClient | null = null;
  private connecting: Promise<void> | null = null;
  private buffer = new Map<string, KafkaOutgoing[]>();
  private lastTopic = "";
  private lastList: KafkaOutgoing[] | null = null;
  private tally = new ReceiptTally();
  private count = 0;
  private bytes = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private readonly pending: OutBatch[] = [];
  private sending: Promise<void> | null = null;
  private readonly throttle = new ThrottleSwitch(this.pipeline, this);
  /** Buffered plus in-flight messages. */
  queued = 0;
  /** Messages acknowledged by the broker, and messages whose send failed for good. */
  delivered = 0;
  failed = 0;

  constructor(app: Application, pipeline: Pipeline, connection: string | KafkaConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, KafkaConnection);
    this.topic = this.config.getString("topic");
    this.low = this.config.getInt("watermark.low");
    this.high = this.config.getInt("watermark.high");
    if (this.low > this.high) throw new ConfigError(`[${this.config.section}] watermark.low (${this.low}) must not exceed watermark.high (${this.high})`);
    this.batchCount = Math.max(1, this.config.getInt("batch.num.messages"));
    this.batchBytes = Math.max(1, this.config.getInt("batch.size"));
    this.linger = Math.max(0, this.config.getInt("linger.ms"));
    if (this.config.getBool("enable.idempotence") && this.config.getInt("acks") !== -1) {
      throw new ConfigError(`[${this.config.section}] enable.idempotence needs acks = -1`);
    }
    this.connection.compressionOf(this.config.getString("compression.type"));
    app.metrics.addCollector(() => [
      {
        name: "bspump.kafka.sink",
        type: "gauge",
        tags: { pipeline: pipeline.id, sink: this.id },
        fields: { queued: this.queued, delivered: this.delivered, failed: this.failed },
      },
    ]);
  }

  static override ConnectionClass = KafkaConnection;

  override start(): void {
    if (this.producer !== null) return;
    this.producer = this.connection.createProducer({
      idempotent: this.config.getBool("enable.idempotence"),
      acks: this.config.getInt("acks"),
      retries: this.config.getInt("retries"),
      timeoutMs: this.config.getInt("request.timeout.ms"),
      compression: this.config.getString("compression.type"),
    });
    const connecting = this.producer.connect();
    connecting.catch(() => {}); // reported by the first send
    this.connecting = connecting;
  }

  process(context: EventContext, event: unknown): null {
    let value: Buffer | string;
    if (typeof event === "string" || Buffer.isBuffer(event)) value = event;
    else if (event instanceof Uint8Array) value = Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    else throw new TypeError(`KafkaSink expects bytes or a string, got ${event === null ? "null" : typeof event} (serialise it first, e.g. with DictToJsonBytesParser)`);

    const topic = context.kafka_topic;
    let list: KafkaOutgoing[];
    if (topic === undefined || topic === null) list = this.listFor(this.topic);
    else if (typeof topic === "string") list = this.listFor(topic);
    else throw new TypeError(`KafkaSink: context kafka_topic must be a string, got ${typeof topic}`);

    const key = context.kafka_key;
    const headers = context.kafka_headers;
    list.push({
      key: key === undefined || key === null ? null : (key as Buffer | string),
      value,
      headers: headers === undefined || headers === null ? undefined : toHeaderObject(headers as KafkaHeadersInput),
    });
    this.tally.add(context.receipt);
    // Value, key and about 24 bytes of record overhead: keeps a request under the broker's limit.
    this.bytes += value.length + (typeof key === "string" || Buffer.isBuffer(key) ? key.length : 0) + 24;
    this.queued++;
    this.throttle.update(this.queued > this.high, false);
    if (++this.count >= this.batchCount || this.bytes >= this.batchBytes) this.flush();
    else if (this.lingerTimer === null) this.lingerTimer = setTimeout(() => this.flush(), this.linger);
    return null;
  }

  private listFor(topic: string): KafkaOutgoing[] {
    if (topic === this.lastTopic && this.lastList !== null) return this.lastList;
    let list = this.buffer.get(topic);
    if (list === undefined) {
      list = [];
      this.buffer.set(topic, list);
    }
    this.lastTopic = topic;
    this.lastList = list;
    return list;
  }

  /** Hands the buffer to the sender. */
  flush(): void {
    if (this.lingerTimer !== null) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (this.count === 0) return;
    this.pending.push({ byTopic: this.buffer, tally: this.tally.take(), count: this.count });
    this.buffer = new Map();
    this.lastList = null;
    this.lastTopic = "";
    this.count = 0;
    this.bytes = 0;
    this.sending ??= this.sendLoop();
  }

  private async sendLoop(): Promise<void> {
    try {
      let batch: OutBatch | undefined;
      while ((batch = this.pending.shift()) !== undefined) await this.send(batch);
    } finally {
      this.sending = null;
    }
  }

  private async send(batch: OutBatch): Promise<void> {
    try {
      try {
        await this.sendOnce(batch);
      } catch (e) {
        // The client retried already. A fresh producer gets over fatal producer states (an
        // idempotent producer whose sequence the broker lost after a restart); one more try.
        this.pipeline.log.warn(`KafkaSink '${this.id}': send failed, retrying with a new producer`, { error: toError(e).message });
        await this.resetProducer();
        await this.sendOnce(batch);
      }
      this.delivered += batch.count;
      batch.tally.settleAll();
    } catch (e) {
      const error = toError(e);
      this.failed += batch.count;
      batch.tally.failAll(error);
      this.pipeline.setError(null, null, new Error(`KafkaSink '${this.id}': ${batch.count} messages could not be delivered: ${error.message}`));
    }
    this.queued -= batch.count;
    this.throttle.update(false, this.queued <= this.low);
  }

  private async sendOnce(batch: OutBatch): Promise<void> {
    if (this.producer === null) this.start();
    await this.connecting;
    await this.producer!.send(batch.byTopic);
  }

  private async resetProducer(): Promise<void> {
    const old = this.producer;
    this.producer = null;
    this.connecting = null;
    await old?.close().catch(() => {});
    this.start();
  }

  /** Sends what is buffered and waits until every message is acknowledged (or failed). */
  async drain(): Promise<void> {
    this.flush();
    while (this.sending !== null) await this.sending;
  }

  override async stop(): Promise<void> {
    await this.drain();
    const producer = this.producer;
    this.producer = null;
    this.connecting = null;
    if (producer !== null) {
      try {
        await producer.close();
      } catch (e) {
        this.pipeline.log.warn(`KafkaSink '${this.id}': closing the producer failed`, { error: toError(e).message });
      }
    }
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), Queued: this.queued, Delivered: this.delivered, Failed: this.failed, Throttled: this.throttle.active };
  }
}

/** `kafka_headers` (BSPump's list of pairs, or an object) → the producer's header object. */
function toHeaderObject(headers: KafkaHeadersInput): KafkaHeaderObject | undefined {
  if (!Array.isArray(headers)) return headers as KafkaHeaderObject;
  if (headers.length === 0) return undefined;
  const out: KafkaHeaderObject = {};
  for (const [name, value] of headers as readonly (readonly [string, Buffer | string])[]) {
    const seen = out[name];
    // A name may repeat in Kafka headers.
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [seen, value];
  }
  return out;
}
