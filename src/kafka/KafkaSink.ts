import { ConfigError, locateConnection, Sink, toError, ThrottleSwitch, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline, type Receipt } from "../core/index.js";
import { KafkaConnection, passThroughProperties, type KafkaHeaderPairs, type KafkaHeadersInput, type KafkaProducerClient, type KafkaProperties } from "./KafkaConnection.js";
import { DeliveryLedger } from "./DeliveryLedger.js";
import type { KafkaTransaction, TransactionMember } from "./KafkaTransaction.js";
import type { KafkaTransactionalProducer } from "./client.js";
import { noteIgnoredKeys } from "./settings.js";

/**
 * exactly_once: what the receipt of an event not produced because its transaction failed carries.
 * Never the transaction's failure itself: a refusal (too large) names only the record refused,
 * and the source sends the inputs of refused records to the error rules.
 */
const READ_AGAIN = new Error("not produced: its transaction failed and aborts; read again from the last commit");

/** How long stop() waits for the last deliveries. */
const DRAIN_TIMEOUT_MS = 60_000;
/** How often topics' partition counts are read again (partitions can be added to a topic). */
const PARTITIONS_REFRESH_MS = 300_000;
/** The token of a record without a receipt, produced while its topic's partitions are not known yet. */
const NO_RECEIPT = 0;

/** A record the client's queue had no room for, waiting for deliveries to make room. */
interface Backlogged {
  topic: string;
  value: Buffer;
  key: Buffer | string | null;
  headers: KafkaHeaderPairs | undefined;
  receipt: Receipt | undefined;
}

const CONFIG = {
  topic: { type: "string", default: "unconfigured", doc: "Topic, unless the context has kafka_topic" },
  "watermark.low": { type: "int", default: 10000, doc: "Un-throttle the pipeline when queued records drop to this" },
  "watermark.high": { type: "int", default: 20000, doc: "Throttle the pipeline when queued (not yet acknowledged) records exceed this" },
  "queue.buffering.max.messages": { type: "int", default: 30000, doc: "Most records librdkafka queues (above the high watermark, so throttling comes first)" },
  "queue.buffering.max.kbytes": { type: "int", default: 2561024, doc: "Most kilobytes librdkafka queues" },
  "batch.num.messages": { type: "int", default: 10000, doc: "Most records per batch" },
  "batch.size": { type: "int", default: 1000000, doc: "Most bytes per batch" },
  "linger.ms": { type: "int", default: 500, doc: "Longest wait for a batch to fill before it is sent" },
  "enable.idempotence": { type: "bool", default: true, doc: "Idempotent producer: retries neither duplicate nor reorder records" },
  acks: { type: "string", default: "all", doc: "all (or -1): every in-sync replica; 1: the leader; 0: none (not with idempotence)", choices: ["all", "-1", "1", "0"] },
  "compression.type": { type: "string", default: "", doc: "none, gzip, snappy, lz4 or zstd; empty: the connection's compression_type" },
  exactly_once: { type: "bool", default: false, doc: "Produce in the connection's transactions, committed with the offsets of the exactly_once KafkaSource that reads for it (docs/kafka.md, delivery guarantees)" },
  "poll.timeout": { type: "float", default: 0.1, doc: "BSPump: seconds per producer poll. Deliveries are reported by librdkafka's thread here" },
} satisfies ConfigSpec;

/**
 * Produces each event (bytes or a string) to Kafka. The topic is the context's `kafka_topic`, or
 * `topic`; the key and headers come from the context's `kafka_key` and `kafka_headers` (so records
 * from a KafkaSource keep theirs). librdkafka batches (`linger.ms`, `batch.num.messages`,
 * `batch.size`), compresses, retries and reconnects; each event's delivery receipt is settled when
 * the broker acknowledged its record, or failed when librdkafka gave up on it
 * (`message.timeout.ms`), which puts the pipeline into its error state — a record is never counted
 * as delivered before the broker has it. While more than `watermark.high` records are queued, the
 * pipeline is throttled, until they drop to `watermark.low`.
 */
export class KafkaSink extends Sink implements TransactionMember {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  static ConfigPassThrough = "the librdkafka producer, with `_` read as `.` (e.g. `message.timeout.ms`, `partitioner`)";

  override readonly settlesReceipts = true;
  readonly connection: KafkaConnection;
  readonly topic: string;
  private readonly low: number;
  private readonly high: number;
  private producer: KafkaProducerClient | null = null;
  /** Receipts by partition for the current producer (null: librdkafka's settings need a token per record). */
  private ledger: DeliveryLedger | null = null;
  private readonly partitionsAsked = new Set<string>();
  private partitionsTimer: NodeJS.Timeout | null = null;
  /** The producer answered once: records go to it directly (until then they wait in the backlog). */
  private live = false;
  private backlog: Backlogged[] = [];
  private readonly throttle = new ThrottleSwitch(this.pipeline, this);
  private drained: (() => void) | null = null;
  /** exactly_once: the connection's transaction, whose producer this sink shares. */
  readonly txn: KafkaTransaction | null;
  /** Who the shared producer's reports go to (this sink when it shares one). */
  private readonly owner: TransactionMember | undefined;
  /** Produced records not yet acknowledged or failed (including the backlog). */
  queued = 0;
  /** Records acknowledged by the broker, and records whose delivery failed for good. */
  delivered = 0;
  failed = 0;

  constructor(app: Application, pipeline: Pipeline, connection: string | KafkaConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, KafkaConnection);
    this.topic = this.config.getString("topic");
    this.low = this.config.getInt("watermark.low");
    this.high = this.config.getInt("watermark.high");
    const section = `[${this.config.section}]`;
    if (this.low > this.high) throw new ConfigError(`${section} watermark.low (${this.low}) must not exceed watermark.high (${this.high})`);
    if (this.config.getBool("enable.idempotence") && !["all", "-1"].includes(this.config.getString("acks"))) {
      throw new ConfigError(`${section} enable.idempotence needs acks = all`);
    }
    this.connection.compressionOf(this.config.getString("compression.type"));
    this.txn = this.config.getBool("exactly_once") ? this.connection.transaction() : null;
    this.owner = this.txn === null ? undefined : this;
    if (this.txn !== null && !this.config.getBool("enable.idempotence")) throw new ConfigError(`${this.config.where("enable.idempotence")}: exactly_once needs the idempotent producer`);
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

  /** The librdkafka producer properties of this sink. */
  producerProperties(): KafkaProperties {
    const c = this.config;
    const props: KafkaProperties = {
      "compression.type": this.connection.compressionOf(c.getString("compression.type")),
      "enable.idempotence": c.getBool("enable.idempotence"),
      acks: c.getString("acks") === "all" ? -1 : Number(c.getString("acks")),
    };
    for (const key of ["queue.buffering.max.messages", "queue.buffering.max.kbytes", "batch.num.messages", "batch.size", "linger.ms"] as const) props[key] = c.getInt(key);
    return { ...props, ...passThroughProperties(c) };
  }

  override start(): void {
    if (this.producer !== null) return;
    noteIgnoredKeys(this.config, this.pipeline.log, ["poll.timeout"]);
    const properties = this.producerProperties();
    if (this.txn !== null) return this.txn.join(this, properties);
    const partitioner = properties.partitioner;
    const ledger = DeliveryLedger.usable(properties["enable.idempotence"] === true, partitioner === undefined ? undefined : String(partitioner)) ? new DeliveryLedger() : null;
    this.ledger = ledger;
    this.partitionsAsked.clear();
    this.producer = this.connection.createProducer(
      {
        properties,
        onDelivery: (error, token, topic, partition) => this.onDelivery(error, token === undefined ? ledger?.take(topic, partition) : token === NO_RECEIPT ? undefined : (token as Receipt)),
        onFatal: (error) => this.onFatal(error),
      },
      `KafkaSink '${this.id}'`,
    );
    void this.connectUntilUp(this.producer);
  }

  /** librdkafka queues records while it is not connected; connect() is only retried until it answers once. */
  private async connectUntilUp(producer: KafkaProducerClient): Promise<void> {
    let backoff = 1;
    for (;;) {
      try {
        await producer.connect();
        // The configured topic's partitions first, so the backlog goes out without tokens (DeliveryLedger).
        await this.askPartition(this.topic);
        if (this.producer !== producer) return;
        this.live = true;
        this.produceBacklog();
        this.partitionsTimer ??= setInterval(() => this.ledger?.topics().forEach((t) => void this.askPartition(t, true)), PARTITIONS_REFRESH_MS).unref();
        return;
      } catch (e) {
        if (this.producer !== producer) return;
        this.connection.clientError(`KafkaSink '${this.id}'`, new Error(`${toError(e).message}; retrying in ${backoff} s`));
        await new Promise((r) => setTimeout(r, backoff * 1000).unref());
        backoff = Math.min(30, backoff * 2);
      }
    }
  }

  /** exactly_once: the transaction's producer is ready (the first, or a new one after fencing); no ledger: a token per record. */
  producerReady(producer: KafkaTransactionalProducer, ledger: DeliveryLedger | null): void {
    this.producer = producer;
    this.ledger = ledger;
    this.partitionsAsked.clear();
    void this.askPartition(this.topic).then(() => {
      if (this.producer !== producer) return;
      this.live = true;
      this.produceBacklog();
    });
  }

  /** exactly_once: the producer is being replaced; records wait in the backlog. */
  producerLost(): void {
    this.producer = null;
    this.ledger = null;
    this.live = false;
    // What the old producer held may never be reported (it is closed with them): not counted any more.
    this.queued = this.backlog.length;
    this.throttle.update(false, this.queued <= this.low);
    if (this.queued === 0) this.drained?.();
  }

  process(context: EventContext, event: unknown): null {
    let value: Buffer;
    if (Buffer.isBuffer(event)) value = event;
    else if (typeof event === "string") value = Buffer.from(event);
    else if (event instanceof Uint8Array) value = Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    else throw new TypeError(`KafkaSink expects bytes or a string, got ${event === null ? "null" : typeof event} (serialise it first, e.g. with DictToJsonBytesParser)`);
    const topic = context.kafka_topic;
    if (topic !== undefined && topic !== null && typeof topic !== "string") throw new TypeError(`KafkaSink: context kafka_topic must be a string, got ${typeof topic}`);
    const key = context.kafka_key === undefined || context.kafka_key === null ? null : (context.kafka_key as Buffer | string);
    const headers = context.kafka_headers === undefined || context.kafka_headers === null ? undefined : toHeaderPairs(context.kafka_headers as KafkaHeadersInput);
    const receipt = context.receipt;
    const name = topic ?? this.topic;
    const txn = this.txn;
    if (txn !== null && (txn.failure !== null || (receipt !== undefined && receipt.abandoned))) {
      // The open transaction failed and will abort, or this event's aborted already: its source
      // reads the record again, so it is not produced.
      receipt?.fail(READ_AGAIN);
      return null;
    }
    // A record librdkafka refuses outright (e.g. larger than message.max.bytes) throws here: the
    // pipeline's error rules take that one event.
    if (txn !== null) {
      try {
        if (!this.live || this.backlog.length > 0 || !this.send(name, value, key, headers, receipt)) this.backlog.push({ topic: name, value, key, headers, receipt });
      } catch (e) {
        // The transaction is in an abortable state (a record of it failed a moment ago): this one
        // is read again after the abort, not an error of its own.
        txn.failure ??= toError(e);
        receipt?.fail(READ_AGAIN);
        return null;
      }
    } else if (!this.live || this.backlog.length > 0 || !this.send(name, value, key, headers, receipt)) this.backlog.push({ topic: name, value, key, headers, receipt });
    this.queued++;
    this.throttle.update(this.queued > this.high, false);
    return null;
  }

  /** A record's delivery report (from this sink's producer, or the transaction's; `current` false: from a replaced one). */
  onDelivery(error: Error | null, receipt: Receipt | undefined, current = true): void {
    if (!current) {
      // Its transaction aborted when its producer was replaced, and producerLost() uncounted it.
      receipt?.fail(error ?? new Error("the record's transaction was aborted"));
      return;
    }
    this.queued--;
    if (error === null) {
      this.delivered++;
      receipt?.settle();
    } else if (this.txn !== null) {
      // exactly_once: the transaction aborts and its source reads again from the last commit;
      // a record the broker refused as such goes to the pipeline's error rules from there
      // (KafkaSource finds which input made it), so no error state here.
      this.failed++;
      receipt?.fail(error);
    } else {
      this.failed++;
      receipt?.fail(error);
      // librdkafka gave up after its own retries (message.timeout.ms): an outage, not a bad event.
      // The failed receipts rewind their sources, so these records are not dead-lettered (the
      // report does not carry them either); one error state, not one per record of the batch.
      if (!this.pipeline.isError()) this.pipeline.setError(null, null, new Error(`KafkaSink '${this.id}': a record could not be delivered: ${error.message}`));
    }
    if (this.backlog.length > 0) this.produceBacklog();
    this.throttle.update(false, this.queued <= this.low);
    if (this.queued === 0) this.drained?.();
  }

  /**
   * Hands one record to the producer; false when its queue is full. The partition is chosen here,
   * at the moment of producing, so the ledger lists each partition's records in producing order.
   */
  private send(topic: string, value: Buffer, key: Buffer | string | null, headers: KafkaHeaderPairs | undefined, receipt: Receipt | undefined): boolean {
    const ledger = this.ledger;
    const partitions = ledger === null ? 0 : ledger.partitionsOf(topic);
    if (partitions === 0) {
      // Asked once per topic (again after a while if it is not there yet): no Promise per record.
      if (ledger !== null && !this.partitionsAsked.has(topic)) void this.askPartition(topic);
      return this.producer!.produce(topic, null, value, key, headers, this.owner === undefined ? (receipt ?? NO_RECEIPT) : this.txn!.token(this.owner, receipt));
    }
    const partition = ledger!.choose(topic, key, partitions);
    if (!this.producer!.produce(topic, partition, value, key, headers, undefined)) return false;
    ledger!.add(topic, partition, receipt);
    return true;
  }

  private produceBacklog(): void {
    const producer = this.producer;
    if (producer === null || !this.live) return;
    let i = 0;
    for (; i < this.backlog.length; i++) {
      const b = this.backlog[i]!;
      if (b.receipt?.abandoned) {
        // exactly_once: queued here when its transaction aborted; it is read again.
        this.queued--;
        b.receipt.fail(READ_AGAIN);
        continue;
      }
      if (!this.send(b.topic, b.value, b.key, b.headers, b.receipt)) break;
    }
    this.backlog = i === this.backlog.length ? [] : this.backlog.slice(i);
  }

  /** Reads a topic's partition count for the ledger (once; again after a while if the topic is not there yet). */
  private askPartition(topic: string, again = false): Promise<void> {
    const producer = this.producer;
    const ledger = this.ledger;
    if (producer === null || ledger === null || (this.partitionsAsked.has(topic) && !again)) return Promise.resolve();
    this.partitionsAsked.add(topic);
    const retryLater = (): void => void setTimeout(() => this.partitionsAsked.delete(topic), 5000).unref();
    return producer.partitionCount(topic).then(
      (count) => (count > 0 ? ledger.setPartitions(topic, count) : retryLater()),
      (e: unknown) => {
        retryLater();
        this.connection.clientError(`KafkaSink '${this.id}'`, toError(e));
      },
    );
  }

  /**
   * The idempotent producer lost its sequence (the broker lost data): its queued records fail
   * with errors of their own (so their sources rewind), and a new producer takes over.
   */
  private onFatal(error: Error): void {
    this.pipeline.log.error(`KafkaSink '${this.id}': the producer failed; starting a new one`, { error: error.message });
    const old = this.producer;
    this.producer = null;
    this.live = false;
    void old?.close().catch(() => {});
    this.start();
  }

  /** Waits until every queued record is acknowledged or failed (at most `timeoutMs`). */
  async drain(timeoutMs = DRAIN_TIMEOUT_MS): Promise<void> {
    if (this.queued === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.drained = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    this.drained = null;
  }

  override async stop(): Promise<void> {
    if (this.partitionsTimer !== null) clearInterval(this.partitionsTimer);
    this.partitionsTimer = null;
    await this.drain();
    if (this.queued > 0) this.pipeline.log.warn(`KafkaSink '${this.id}': ${this.queued} records not acknowledged at stop; their sources will deliver them again`);
    if (this.txn !== null) {
      // The transaction's producer is closed by its source, after its last commit.
      this.txn.leave(this);
      this.producerLost();
      return;
    }
    const producer = this.producer;
    this.producer = null;
    this.live = false;
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

/** `kafka_headers` (BSPump's list of pairs, or an object) → librdkafka's list of one-entry objects. */
function toHeaderPairs(headers: KafkaHeadersInput): KafkaHeaderPairs | undefined {
  const out: KafkaHeaderPairs = [];
  if (Array.isArray(headers)) for (const [name, value] of headers as readonly (readonly [string, Buffer | string])[]) out.push({ [name]: value });
  else for (const [name, value] of Object.entries(headers as Record<string, Buffer | string | undefined>)) if (value !== undefined) out.push({ [name]: value });
  return out.length > 0 ? out : undefined;
}
