import {
  ConfigError,
  locateConnection,
  Receipt,
  Source,
  toError,
  type Application,
  type ComponentOptions,
  type EventContext,
  type Pipeline,
  type ConfigSpec,
} from "../core/index.js";
import { type KafkaBatch, type KafkaCommit, KafkaConnection, type KafkaConsumerClient, type KafkaTopicPartitions } from "./KafkaConnection.js";

/** How long the pipeline may be not ready before the consumer is paused. */
const PAUSE_AFTER_MS = 250;

/** One handed-over fetch batch of a partition, waiting for its receipt. */
export interface BatchEntry {
  /** Offset after the last record handed over: what to commit once this and all before it are settled. */
  next: number;
  first: number;
  done: boolean;
}

/** Offsets of one partition: batches in fetch order, and what can be / was committed (exported for tests). */
export class PartitionTrack {
  /** Bumped when the partition is reassigned or rewound: receipts of older batches are ignored. */
  epoch = 0;
  entries: BatchEntry[] = [];
  /** Next offset to commit (every record before it is settled); -1 when nothing new is settled. */
  committable = -1;
  committed = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  reset(): void {
    this.epoch++;
    this.entries = [];
    this.committable = -1;
    this.committed = -1;
  }

  /** Marks an entry settled and advances the committable offset over the settled prefix. */
  settle(entry: BatchEntry): void {
    entry.done = true;
    const entries = this.entries;
    let n = 0;
    while (n < entries.length && entries[n]!.done) n++;
    if (n === 0) return;
    this.committable = entries[n - 1]!.next;
    this.entries = n === entries.length ? [] : entries.slice(n);
  }
}

/**
 * Consumes Kafka topics in a consumer group and hands every record's value (bytes) to the pipeline.
 *
 * At-least-once: each fetched batch of a partition gets one delivery receipt; an offset is
 * committed only when every record up to it on that partition is settled (written by the sinks or
 * dropped). Commits happen every `auto_commit_interval_ms`, when a rebalance starts, and on stop. A
 * failed receipt rewinds the partition to the failed batch, so it is delivered again once the
 * pipeline's error is cleared. The consumer is paused while the pipeline is not ready.
 *
 * Context: `kafka_key`, `kafka_headers` (list of [name, Buffer]) — which a KafkaSink reuses —
 * and `_kafka_topic`, `_kafka_partition`, `_kafka_offset`, `_kafka_timestamp` (ms), as in BSPump.
 */
export class KafkaSource extends Source {
  static override ConfigDefaults: ConfigSpec = {
    topic: { type: "string", default: "unconfigured", doc: "Topics, space- or comma-separated; an item starting with ^ is a regular expression" },
    group_id: { type: "string", default: "bspump", doc: "Consumer group: pumps with the same group share the partitions" },
    auto_offset_reset: { type: "string", default: "earliest", doc: "Where a new group starts: earliest or latest", choices: ["earliest", "latest", "smallest", "largest"] },
    auto_commit_interval_ms: { type: "int", default: 1000, doc: "How often settled offsets are committed" },
    session_timeout_ms: { type: "int", default: 30000, doc: "Group session timeout: a pump that stops heart-beating this long loses its partitions" },
    heartbeat_interval_ms: { type: "int", default: 3000, doc: "Heartbeat interval" },
    max_partition_fetch_bytes: { type: "int", default: 1048576, doc: "Most bytes fetched per partition and request (bounds a batch)" },
    fetch_wait_max_ms: { type: "int", default: 500, doc: "How long the broker may wait to fill a fetch" },
    receipt_records: { type: "int", default: 1000, doc: "Most records per delivery receipt: a large fetch batch is acknowledged in parts of this size" },
  };

  readonly connection: KafkaConnection;
  readonly topics: (string | RegExp)[];
  readonly groupId: string;
  private consumer: KafkaConsumerClient | null = null;
  private readonly tracks = new Map<string, PartitionTrack>();
  private commitTimer: NodeJS.Timeout | null = null;
  private commitChain: Promise<void> = Promise.resolve();
  private inBatch: Promise<void> | null = null;
  private paused = false;
  private lastCommitError = "";
  private readonly receiptRecords: number;
  /** Records handed to the pipeline, and commits made (for metrics and tests). */
  recordsIn = 0;
  commits = 0;

  constructor(app: Application, pipeline: Pipeline, connection: string | KafkaConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, KafkaConnection);
    this.groupId = this.config.getString("group_id");
    this.receiptRecords = Math.max(1, this.config.getInt("receipt_records"));
    this.topics = parseTopics(this.config.getString("topic"), `[${this.config.section}] topic`);
    app.metrics.addCollector(() => [
      {
        name: "bspump.kafka.source",
        type: "counter",
        tags: { pipeline: pipeline.id, source: this.id },
        fields: { "record.in": this.recordsIn, commit: this.commits },
      },
    ]);
  }

  static override ConnectionClass = KafkaConnection;

  async main(): Promise<void> {
    const reset = this.config.getString("auto_offset_reset");
    const consumer = this.connection.createConsumer({
      groupId: this.groupId,
      topics: this.topics,
      fromBeginning: reset === "earliest" || reset === "smallest",
      sessionTimeoutMs: this.config.getInt("session_timeout_ms"),
      heartbeatIntervalMs: this.config.getInt("heartbeat_interval_ms"),
      maxBytesPerPartition: this.config.getInt("max_partition_fetch_bytes"),
      maxWaitTimeMs: this.config.getInt("fetch_wait_max_ms"),
      onBatch: (batch) => this.onBatch(batch),
      onRebalancing: () => void this.commitSettled(),
      onAssigned: (assignment) => this.onAssigned(assignment),
      onCrash: (error, restart) => this.onCrash(error, restart),
    });
    this.consumer = consumer;
    try {
      await consumer.start();
    } catch (e) {
      this.consumer = null;
      await consumer.close().catch(() => {});
      throw e;
    }
    const interval = Math.max(10, this.config.getInt("auto_commit_interval_ms"));
    this.commitTimer = setInterval(() => void this.commitSettled(), interval);
    await this.untilStopped;
    // Stop fetching; the consumer stays in the group until finalize() has committed what the
    // pipeline's flush settled.
    consumer.pause();
    if (this.inBatch) await this.inBatch;
  }

  private onBatch(batch: KafkaBatch): Promise<void> {
    const run = this.handBatch(batch);
    this.inBatch = run;
    return run.finally(() => {
      if (this.inBatch === run) this.inBatch = null;
    });
  }

  private async handBatch(batch: KafkaBatch): Promise<void> {
    const records = batch.records;
    if (records.length === 0 || this.stopping) return;
    const track = this.trackOf(batch.topic, batch.partition);
    const epoch = track.epoch;
    const topic = batch.topic;
    const partition = batch.partition;
    const pipeline = this.pipeline;
    const chunk = this.receiptRecords;
    let i = 0;
    // One receipt per fetched batch, or per `receipt_records` records of a large one.
    while (i < records.length) {
      const end = Math.min(records.length, i + chunk);
      const start = i;
      let entry: BatchEntry | null = null;
      const receipt = new Receipt((r) => this.batchSettled(track, epoch, entry, r));
      for (; i < end; i++) {
        const go = this.whenReady();
        if (go !== true && !(await this.waitWhilePaused(batch, go))) break;
        if (!batch.isActive()) break;
        const record = records[i]!;
        const context: EventContext = {
          kafka_key: record.key,
          kafka_headers: record.headers,
          _kafka_topic: topic,
          _kafka_partition: partition,
          _kafka_offset: Number(record.offset),
          _kafka_timestamp: Number(record.timestamp),
          receipt,
        };
        pipeline.process(record.value, context);
      }
      const handed = i - start;
      this.recordsIn += handed;
      if (handed > 0) {
        const lastOffset = records[i - 1]!.offset;
        if (track.epoch === epoch) {
          entry = { first: Number(records[start]!.offset), next: Number(lastOffset) + 1, done: false };
          track.entries.push(entry);
        }
        batch.resolveOffset(lastOffset);
      }
      receipt.seal();
      if (i < end || i === records.length) return;
      try {
        await batch.heartbeat();
      } catch {
        // Rebalancing: commit what is settled while this member still owns its partitions; the
        // rest of the batch is fetched again by whoever owns the partition next.
        void this.commitSettled();
        return;
      }
    }
  }

  /** Waits for the pipeline, with the consumer paused and the group membership kept alive. */
  private async waitWhilePaused(batch: KafkaBatch, go: Promise<boolean>): Promise<boolean> {
    if (this.pipeline.isReady()) return go; // a chillout yield, not a throttle
    // A short throttle (a sink waiting for one acknowledgement) passes without pausing: pausing
    // makes the client drop the batches it prefetched and fetch them again.
    let timer: NodeJS.Timeout | undefined;
    const early = await Promise.race([go, new Promise<null>((resolve) => (timer = setTimeout(resolve, PAUSE_AFTER_MS, null)))]);
    clearTimeout(timer);
    if (early !== null) return early;
    const consumer = this.consumer!;
    consumer.pause();
    this.paused = true;
    // If the group moves on (a rebalance, a restarted broker), give the batch up so the client can
    // rejoin; the records not handed over are fetched again.
    let lost: () => void = () => {};
    const groupLost = new Promise<false>((resolve) => (lost = () => resolve(false)));
    const beat = setInterval(() => {
      batch.heartbeat().catch(() => {
        void this.commitSettled();
        lost();
      });
    }, Math.max(500, this.config.getInt("heartbeat_interval_ms")));
    try {
      return await Promise.race([go, groupLost]);
    } finally {
      clearInterval(beat);
      this.paused = false;
      if (!this.stopping) consumer.resume();
    }
  }

  private batchSettled(track: PartitionTrack, epoch: number, entry: BatchEntry | null, receipt: Receipt): void {
    if (entry === null || track.epoch !== epoch) return; // the partition was reassigned or rewound since
    if (receipt.error !== null) {
      // Not acknowledged: rewind to this batch so it is delivered again (after the error is cleared).
      this.log.warn(`Batch of ${track.topic}[${track.partition}] from offset ${entry.first} failed; it will be consumed again`, { error: receipt.error.message });
      track.epoch++;
      track.entries = [];
      if (this.consumer && !this.stopping) this.consumer.seek(track.topic, track.partition, String(entry.first));
      return;
    }
    track.settle(entry);
  }

  private trackOf(topic: string, partition: number): PartitionTrack {
    const key = `${topic}\u0000${partition}`;
    let track = this.tracks.get(key);
    if (track === undefined) {
      track = new PartitionTrack(topic, partition);
      this.tracks.set(key, track);
    }
    return track;
  }

  private onAssigned(assignment: KafkaTopicPartitions[]): void {
    // After a (re)join the client fetches every assigned partition from its committed offset:
    // forget batches of the previous generation.
    for (const track of this.tracks.values()) track.reset();
    this.log.info(`Assigned ${assignment.map((a) => `${a.topic}[${a.partitions.join(",")}]`).join(" ") || "no partitions"} (group '${this.groupId}')`);
  }

  private onCrash(error: Error, restart: boolean): void {
    this.log.error(`Kafka consumer failed${restart ? "; restarting" : ""}`, { error });
    if (!restart && !this.stopping) this.pipeline.setError(null, null, error);
  }

  /** Commits, per partition, the offset after the highest contiguous settled record (serialised). */
  commitSettled(): Promise<void> {
    this.commitChain = this.commitChain.then(() => this.commitNow());
    return this.commitChain;
  }

  private async commitNow(): Promise<void> {
    const consumer = this.consumer;
    if (consumer === null) return;
    const offsets: KafkaCommit[] = [];
    const tracks: PartitionTrack[] = [];
    const values: number[] = [];
    for (const track of this.tracks.values()) {
      if (track.committable > track.committed) {
        offsets.push({ topic: track.topic, partition: track.partition, offset: String(track.committable) });
        tracks.push(track);
        values.push(track.committable);
      }
    }
    if (offsets.length === 0) return;
    const epochs = tracks.map((t) => t.epoch);
    try {
      await consumer.commit(offsets);
      this.commits++;
      for (let i = 0; i < tracks.length; i++) if (tracks[i]!.epoch === epochs[i]) tracks[i]!.committed = Math.max(tracks[i]!.committed, values[i]!);
      this.lastCommitError = "";
    } catch (e) {
      const message = toError(e).message;
      // Once per kind of failure, not on every tick (a restarted broker can take a while).
      if (message !== this.lastCommitError) this.log.warn("Committing offsets failed; will retry", { error: message });
      this.lastCommitError = message;
    }
  }

  /** Offsets settled but not yet committed, per partition (for tests and the web API). */
  pendingCommits(): KafkaCommit[] {
    const out: KafkaCommit[] = [];
    for (const t of this.tracks.values()) if (t.committable > t.committed) out.push({ topic: t.topic, partition: t.partition, offset: String(t.committable) });
    return out;
  }

  override async finalize(): Promise<void> {
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.commitTimer = null;
    const consumer = this.consumer;
    if (consumer === null) return;
    await this.commitSettled();
    this.consumer = null;
    try {
      await consumer.close();
    } catch (e) {
      this.log.warn("Closing the Kafka consumer failed", { error: toError(e).message });
    }
  }

  override describe(): Record<string, unknown> {
    return {
      ...super.describe(),
      GroupId: this.groupId,
      Paused: this.paused,
      Assignment: this.consumer?.assignment() ?? [],
      Partitions: [...this.tracks.values()].map((t) => ({ topic: t.topic, partition: t.partition, committed: t.committed, committable: t.committable, inFlightBatches: t.entries.length })),
    };
  }
}

/** BSPump's `topic`: names separated by spaces (or commas); `^…` is a pattern. */
export function parseTopics(value: string, where: string): (string | RegExp)[] {
  const items = value.split(/[\s,]+/).filter((s) => s !== "");
  if (items.length === 0) throw new ConfigError(`${where}: no topic given`);
  return items.map((item) => {
    if (item.startsWith("^")) {
      try {
        return new RegExp(item);
      } catch (e) {
        throw new ConfigError(`${where}: '${item}' is not a valid regular expression: ${(e as Error).message}`);
      }
    }
    // BSPump's `name:partition` form cannot be honoured by a group consumer.
    if (/:\d+$/.test(item)) throw new ConfigError(`${where}: '${item}': assigning single partitions is not supported in a consumer group; give the topic name`);
    return item;
  });
}
