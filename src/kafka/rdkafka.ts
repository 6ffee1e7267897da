import type {
  KafkaAdminClient,
  KafkaCommit,
  KafkaConsumerClient,
  KafkaConsumerOptions,
  KafkaHeaderPairs,
  KafkaProducerOptions,
  KafkaProperties,
  KafkaRecord,
  KafkaTopicPartition,
  KafkaTopicSpec,
  KafkaTransactionalProducer,
} from "./client.js";
import { ERR_QUEUE_FULL, ERR_ASSIGN, ERR_REVOKE, asError, call, connect, disconnect, patched, rdkafka, type RdError, type RdMessage, type RdTopicPartition, type RdConsumer, type RdProducer, type RdAdmin } from "./rdkafkaModule.js";
import { forEachReport, unpackRecords, type PackedMessages } from "./rdkafkaPacked.js";

/*
 * The Kafka client: librdkafka through @confluentinc/kafka-javascript, its node-rdkafka style API
 * for consuming and producing (records cross into JavaScript in batches; compression, batching,
 * retries and reconnection happen in librdkafka's threads) and its KafkaJS-style admin client.
 * Chosen by measurement: docs/kafka.md. Only the few members used here are declared, so the
 * package's own typings are not needed to build.
 */

export class RdKafkaConsumer implements KafkaConsumerClient {
  /** The client's consumer (a transactional producer sends offsets with its group metadata). */
  readonly consumer: RdConsumer;
  private readonly timeoutMs: number;
  private lastTimeout = -1;
  /** Batches come in the packed form (rdkafkaPacked.ts). */
  private readonly packed: boolean;
  /** Rebalance hooks run one after another (an assignment restoring state may take a while). */
  private rebalancing: Promise<void> | null = null;

  constructor(
    properties: KafkaProperties,
    topicProperties: KafkaProperties,
    private readonly options: KafkaConsumerOptions,
    private readonly onError: (error: Error) => void,
  ) {
    this.timeoutMs = Number(properties["socket.connection.setup.timeout.ms"] ?? 30000);
    const rebalance = (error: RdError, assignment: RdTopicPartition[]): void => this.rebalance(error, assignment);
    const client = rdkafka();
    this.packed = patched(client);
    this.consumer = new client.KafkaConsumer({ ...properties, rebalance_cb: rebalance }, topicProperties);
    this.consumer.on("event.error", (e) => onError(asError(e, "Kafka consumer")));
  }

  private rebalance(error: RdError, assignment: RdTopicPartition[]): void {
    const partitions = assignment.map((p) => ({ topic: p.topic, partition: p.partition }));
    const step = (): void | Promise<void> => {
      if (error.code === ERR_ASSIGN) {
        // A hook that restores state first returns a promise: the partitions are assigned after
        // it settles (no record of them is fetched before).
        const from = this.options.onAssign(partitions);
        if (from instanceof Promise) return from.then((f) => this.assignAt(assignment, f));
        this.assignAt(assignment, undefined);
      } else if (error.code === ERR_REVOKE) {
        const done = this.options.onRevoke(partitions);
        if (done instanceof Promise) return done.finally(() => this.consumer.unassign());
        this.consumer.unassign();
      }
    };
    // Rebalances wait in line behind a hook that is still running; otherwise all is synchronous.
    if (this.rebalancing === null) {
      const r = step();
      if (r !== undefined) this.queueRebalance(r);
    } else this.queueRebalance(this.rebalancing.then(step));
  }

  private queueRebalance(work: Promise<void>): void {
    const mine: Promise<void> = work
      .catch((e: unknown) => this.onError(asError(e as Error, "Kafka rebalance")))
      .finally(() => {
        if (this.rebalancing === mine) this.rebalancing = null;
      });
    this.rebalancing = mine;
  }

  private assignAt(assignment: RdTopicPartition[], from: KafkaCommit[] | void): void {
    const at = new Map((from ?? []).map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
    this.consumer.assign(
      assignment.map((p) => {
        const offset = at.get(`${p.topic}\u0000${p.partition}`);
        return offset === undefined ? p : { ...p, offset };
      }),
    );
  }

  assignFrom(partitions: KafkaCommit[]): void {
    if (partitions.length === 0) this.consumer.unassign();
    else this.consumer.assign(partitions);
  }

  position(topic: string, partition: number): number | null {
    const offset = this.consumer.position([{ topic, partition }])[0]?.offset;
    return typeof offset === "number" && offset >= 0 ? offset : null;
  }

  watermarks(topic: string, partition: number): Promise<{ low: number; high: number }> {
    return new Promise((resolve, reject) =>
      this.consumer.queryWatermarkOffsets(topic, partition, this.timeoutMs, (e, w) => (e ? reject(asError(e, "Kafka watermarks")) : resolve({ low: w.lowOffset, high: w.highOffset }))),
    );
  }

  async connect(): Promise<void> {
    await connect(this.consumer, this.timeoutMs);
    this.consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    if (this.options.assign !== null) {
      // Pinned partitions: no group rebalance; the group's committed offset (or the reset policy) is where reading starts.
      const pinned = this.options.assign;
      const from = await this.options.onAssign(pinned);
      const at = new Map((from ?? []).map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
      this.consumer.assign(pinned.map((p) => ({ ...p, offset: at.get(`${p.topic}\u0000${p.partition}`) ?? -1000 /* RD_KAFKA_OFFSET_STORED */ })));
    } else this.consumer.subscribe(this.options.topics.map((t) => (typeof t === "string" ? t : t.source)));
  }

  consume(max: number, timeoutMs: number): Promise<KafkaRecord[]> {
    if (timeoutMs !== this.lastTimeout) {
      this.consumer.setDefaultConsumeTimeout(timeoutMs);
      this.lastTimeout = timeoutMs;
    }
    return new Promise((resolve, reject) => {
      const done = (error: RdError | null, batch: PackedMessages | RdMessage[]): void => {
        if (error) reject(asError(error, "Kafka consume"));
        else resolve(unpackRecords(batch));
      };
      if (this.packed) this.consumer.consumePacked!(max, done);
      else this.consumer.consume(max, done);
    });
  }

  commit(offsets: KafkaCommit[]): Promise<void> {
    return new Promise((resolve, reject) => this.consumer.commitCb(offsets, (e) => (e ? reject(asError(e, "Kafka commit")) : resolve())));
  }

  commitNow(offsets: KafkaCommit[]): void {
    this.consumer.commitSync(offsets);
  }

  pause(partitions: KafkaTopicPartition[]): void {
    if (partitions.length) this.consumer.pause(partitions);
  }

  resume(partitions: KafkaTopicPartition[]): void {
    if (partitions.length) this.consumer.resume(partitions);
  }

  seek(partition: KafkaTopicPartition, offset: number): Promise<void> {
    return new Promise((resolve, reject) => this.consumer.seek({ ...partition, offset }, 5000, (e) => (e ? reject(asError(e, "Kafka seek")) : resolve())));
  }

  assignment(): KafkaTopicPartition[] {
    return this.consumer.assignments().map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  lag(): { topic: string; partition: number; lag: number | null }[] {
    const out: { topic: string; partition: number; lag: number | null }[] = [];
    try {
      for (const p of this.consumer.position(this.consumer.assignments())) {
        const { highOffset } = this.consumer.getWatermarkOffsets(p.topic, p.partition);
        if (highOffset < 0) continue;
        // An assigned partition nothing was taken from yet has no position: its lag is not known
        // (it depends on the committed offset), but it is listed, so that a starved partition shows.
        const known = p.offset !== undefined && p.offset >= 0;
        out.push({ topic: p.topic, partition: p.partition, lag: known ? Math.max(0, highOffset - p.offset!) : null });
      }
    } catch {
      // Not connected (yet): no lag known.
    }
    return out;
  }

  close(): Promise<void> {
    return disconnect(this.consumer);
  }
}

export class RdKafkaProducer implements KafkaTransactionalProducer {
  private readonly producer: RdProducer;
  private readonly timeoutMs: number;

  constructor(properties: KafkaProperties, options: KafkaProducerOptions, onError: (error: Error) => void) {
    this.timeoutMs = Number(properties["socket.connection.setup.timeout.ms"] ?? 30000);
    const client = rdkafka();
    if (patched(client)) {
      this.producer = new client.Producer({ ...properties, dr_compact: true });
      this.producer.on("delivery-reports", (runs, error) => forEachReport(runs, error, options.onDelivery));
    } else {
      this.producer = new client.Producer({ ...properties, dr_cb: true });
      this.producer.on("delivery-report", (error, report) => forEachReport(report, error, options.onDelivery));
    }
    this.producer.on("event.error", (e) => {
      if (e.isFatal) options.onFatal(asError(e, "Kafka producer (fatal)"));
      else onError(asError(e, "Kafka producer"));
    });
  }

  async connect(): Promise<void> {
    await connect(this.producer, this.timeoutMs);
    // Delivery reports come from librdkafka's thread: no polling timer on the event loop.
    this.producer.setPollInBackground(true);
  }

  produce(topic: string, partition: number | null, value: Buffer, key: Buffer | string | null, headers: KafkaHeaderPairs | undefined, token: unknown): boolean {
    try {
      this.producer.produce(topic, partition, value, key, null, token, headers);
      return true;
    } catch (e) {
      if ((e as RdError).code === ERR_QUEUE_FULL) return false;
      throw e;
    }
  }

  partitionCount(topic: string): Promise<number> {
    return new Promise((resolve, reject) =>
      this.producer.getMetadata({ topic, timeout: this.timeoutMs }, (e, metadata) => {
        if (e) return reject(asError(e, "Kafka metadata"));
        resolve(metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0);
      }),
    );
  }

  flush(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => this.producer.flush(timeoutMs, (e) => (e ? reject(asError(e, "Kafka flush")) : resolve())));
  }

  initTransactions(timeoutMs: number): Promise<void> {
    return call("Kafka initTransactions", (cb) => this.producer.initTransactions(timeoutMs, cb));
  }

  beginTransaction(): Promise<void> {
    return call("Kafka beginTransaction", (cb) => this.producer.beginTransaction(cb));
  }

  sendOffsetsToTransaction(offsets: KafkaCommit[], consumer: KafkaConsumerClient, timeoutMs: number): Promise<void> {
    if (!(consumer instanceof RdKafkaConsumer)) return Promise.reject(new Error("sendOffsetsToTransaction needs a consumer of the same client"));
    return call("Kafka sendOffsetsToTransaction", (cb) => this.producer.sendOffsetsToTransaction(offsets, consumer.consumer, timeoutMs, cb));
  }

  commitTransaction(timeoutMs: number): Promise<void> {
    return call("Kafka commitTransaction", (cb) => this.producer.commitTransaction(timeoutMs, cb));
  }

  abortTransaction(timeoutMs: number): Promise<void> {
    return call("Kafka abortTransaction", (cb) => this.producer.abortTransaction(timeoutMs, cb));
  }

  close(): Promise<void> {
    return disconnect(this.producer);
  }
}

export class RdKafkaAdmin implements KafkaAdminClient {
  private readonly admin: RdAdmin;

  constructor(properties: KafkaProperties) {
    this.admin = new (rdkafka().KafkaJS.Kafka)({ ...properties }).admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async createTopics(topics: KafkaTopicSpec[]): Promise<void> {
    await this.admin.createTopics({
      topics: topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
      })),
    });
    // The broker answers before the new partitions have leaders; callers use the topics at once.
    for (const t of topics) await this.waitForLeaders(t.topic);
  }

  private async waitForLeaders(topic: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const offsets = await this.admin.fetchTopicOffsets(topic);
        if (offsets.length > 0) return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async fetchCommitted(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]> {
    const result = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return (result[0]?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset }));
  }

  async fetchLatest(topic: string): Promise<{ partition: number; offset: string }[]> {
    const result = await this.admin.fetchTopicOffsets(topic);
    return result.map((p) => ({ partition: p.partition, offset: p.high }));
  }

  close(): Promise<void> {
    return this.admin.disconnect();
  }
}
