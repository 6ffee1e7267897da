import { ConfigError, locateConnection, Receipt, Source, toError, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline } from "../core/index.js";
import { KafkaConnection, passThroughProperties, type KafkaCommit, type KafkaConsumerClient, type KafkaProperties, type KafkaRecord, type KafkaTopicPartition } from "./KafkaConnection.js";
import { type BatchEntry, type PartitionTrack, PartitionTracks } from "./PartitionTrack.js";
import { resolveAlias, noteIgnoredKeys } from "./settings.js";

export { PartitionTrack, type BatchEntry } from "./PartitionTrack.js";

/** How long the pipeline may be not ready before the consumer is paused. */
const PAUSE_AFTER_MS = 250;
/**
 * While paused, the consumer is still polled this often: librdkafka serves rebalances only in a
 * poll (a member that does not poll holds up the whole group's rebalance), and leaves the group
 * after max.poll.interval.ms without one.
 */
const POLL_WHILE_PAUSED_MS = 500;
const RECONNECT_MAX_S = 30;

/** The records of one partition under one receipt. */
interface Part {
  track: PartitionTrack;
  epoch: number;
  entry: BatchEntry;
}

/**
 * Consumes Kafka topics in a consumer group and hands every record's value (bytes) to the pipeline.
 *
 * At-least-once: records are handed over under delivery receipts (one per `receipt_records`); an
 * offset is committed only when every record up to it on that partition is settled (written by
 * the sinks or dropped). Commits happen every `auto.commit.interval.ms`, when partitions are
 * revoked, and on stop. A failed receipt rewinds its partitions, so the records are delivered
 * again once the pipeline's error is cleared. The consumer is paused while the pipeline is not
 * ready. A broker that cannot be reached is retried for as long as it takes.
 *
 * Context: `kafka_key`, `kafka_headers` (list of [name, Buffer]) — which a KafkaSink reuses —
 * and `_kafka_topic`, `_kafka_partition`, `_kafka_offset`, `_kafka_timestamp` (ms), as in BSPump.
 */
export class KafkaSource extends Source {
  static override ConfigDefaults: ConfigSpec = {
    topic: { type: "string", default: "unconfigured", doc: "Topics, space- or comma-separated; `^…` is a regular expression, `name:partition` reads exactly that partition" },
    "group.id": { type: "string", default: "bspump", doc: "Consumer group: pumps with the same group share the partitions" },
    group_id: { type: "string", default: "", doc: "The same as group.id (BSPump reads `_` as `.`)" },
    "auto.offset.reset": { type: "string", default: "earliest", doc: "Where a group without a committed offset starts", choices: ["earliest", "latest", "smallest", "largest", "beginning", "end", "error"] },
    auto_offset_reset: { type: "string", default: "", doc: "The same as auto.offset.reset", choices: ["", "earliest", "latest", "smallest", "largest", "beginning", "end", "error"] },
    "auto.commit.interval.ms": { type: "int", default: 1000, doc: "How often settled offsets are committed" },
    auto_commit_interval_ms: { type: "int", default: -1, doc: "The same as auto.commit.interval.ms" },
    "enable.auto.commit": { type: "bool", default: false, doc: "Must stay false: offsets are committed when their records are settled" },
    "enable.auto.offset.store": { type: "bool", default: false, doc: "Must stay false: offsets are stored when their records are settled" },
    refresh_topics: { type: "float", default: 0, doc: "Seconds between looks for new topics matching a ^pattern (0: librdkafka's default, 5 minutes)" },
    buffer_size: { type: "int", default: 1000, doc: "Most records taken from the client at a time" },
    poll_interval: { type: "float", default: 0.3, doc: "Seconds a poll waits for the first record" },
    sleep_on_error: { type: "float", default: 3.0, doc: "Seconds to wait after a failed poll or connect before the next (doubling up to 30)" },
    receipt_records: { type: "int", default: 1000, doc: "Most records per delivery receipt" },
    session_timeout_ms: { type: "int", default: 30000, doc: "Group session timeout (session.timeout.ms): a pump silent this long loses its partitions" },
    heartbeat_interval_ms: { type: "int", default: 3000, doc: "Heartbeat interval (heartbeat.interval.ms)" },
    max_partition_fetch_bytes: { type: "int", default: 1048576, doc: "Most bytes fetched per partition and request (max.partition.fetch.bytes)" },
    fetch_wait_max_ms: { type: "int", default: 500, doc: "How long the broker may wait to fill a fetch (fetch.wait.max.ms)" },
    "queued.max.messages.kbytes": { type: "int", default: 16384, doc: "Most kilobytes of records fetched ahead (librdkafka's default is 65536; this bounds memory)" },
    // BSPump's keys for its own polling threads: accepted, with a note at start (see docs/kafka.md).
    consumer_threads: { type: "int", default: 1, doc: "BSPump: consumer threads. One consumer per source here (librdkafka fetches in its own threads)" },
    buffer_timeout: { type: "float", default: 1.0, doc: "BSPump: flush a partly filled buffer after this. Here records are handed over as they arrive" },
    sleep_on_retryable_error: { type: "float", default: 60.0, doc: "BSPump: wait after a retryable error. librdkafka retries by itself here" },
    check_assignment_errors: { type: "float", default: 5.0, doc: "BSPump: look for partition errors this often. librdkafka recovers partitions by itself here" },
    errors_max_retry_attempts: { type: "int", default: 100, doc: "BSPump: retries of a retryable poll error. librdkafka retries by itself here" },
  };
  static ConfigPassThrough = "the librdkafka consumer, with `_` read as `.` (e.g. `fetch.min.bytes`, `isolation.level`)";

  readonly connection: KafkaConnection;
  readonly topics: (string | RegExp)[];
  readonly pinned: KafkaTopicPartition[] | null;
  readonly groupId: string;
  private consumer: KafkaConsumerClient | null = null;
  private readonly tracks = new PartitionTracks();
  private commitTimer: NodeJS.Timeout | null = null;
  private commitChain: Promise<void> = Promise.resolve();
  /** Records taken from the client but not handed over yet (the pipeline stopped being ready). */
  private held: KafkaRecord[] = [];
  private paused: KafkaTopicPartition[] | null = null;
  private connected = false;
  private lastCommitError = "";
  private readonly receiptRecords: number;
  private readonly batchMax: number;
  private readonly pollMs: number;
  /** Records handed to the pipeline, and commits made (for metrics and tests). */
  recordsIn = 0;
  commits = 0;

  constructor(app: Application, pipeline: Pipeline, connection: string | KafkaConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, KafkaConnection);
    const section = `[${this.config.section}]`;
    this.groupId = resolveAlias(this.config, "group.id", "group_id", section);
    this.receiptRecords = Math.max(1, this.config.getInt("receipt_records"));
    this.batchMax = Math.max(1, this.config.getInt("buffer_size"));
    this.pollMs = Math.max(10, Math.round(this.config.getFloat("poll_interval") * 1000));
    const topics = parseTopics(this.config.getString("topic"), `${section} topic`);
    this.topics = topics.subscribe;
    this.pinned = topics.assign;
    for (const key of ["enable.auto.commit", "enable.auto.offset.store"]) {
      if (this.config.getBool(key)) throw new ConfigError(`${section} ${key} = true would commit records before they are settled (losing them on a crash); remove it`);
    }
    app.metrics.addCollector(() => [
      {
        name: "bspump.kafka.source",
        type: "counter",
        tags: { pipeline: pipeline.id, source: this.id },
        fields: { "record.in": this.recordsIn, commit: this.commits, lag: this.consumer?.lag().reduce((s, p) => s + p.lag, 0) ?? 0 },
      },
    ]);
  }

  static override ConnectionClass = KafkaConnection;

  /** The librdkafka consumer properties of this source. */
  consumerProperties(): KafkaProperties {
    const c = this.config;
    const section = `[${c.section}]`;
    const interval = resolveAlias(c, "auto.commit.interval.ms", "auto_commit_interval_ms", section);
    const refresh = c.getFloat("refresh_topics");
    return {
      "group.id": this.groupId,
      "auto.offset.reset": resolveAlias(c, "auto.offset.reset", "auto_offset_reset", section),
      "enable.auto.commit": false,
      "enable.auto.offset.store": false,
      "auto.commit.interval.ms": interval,
      "session.timeout.ms": c.getInt("session_timeout_ms"),
      "heartbeat.interval.ms": c.getInt("heartbeat_interval_ms"),
      "max.partition.fetch.bytes": c.getInt("max_partition_fetch_bytes"),
      "fetch.wait.max.ms": c.getInt("fetch_wait_max_ms"),
      "queued.max.messages.kbytes": c.getInt("queued.max.messages.kbytes"),
      ...(refresh > 0 ? { "topic.metadata.refresh.interval.ms": Math.max(100, Math.round(refresh * 1000)) } : {}),
      ...passThroughProperties(c),
    };
  }

  async main(): Promise<void> {
    noteIgnoredKeys(this.config, this.log, ["consumer_threads", "buffer_timeout", "sleep_on_retryable_error", "check_assignment_errors", "errors_max_retry_attempts"]);
    if (!(await this.connect())) return;
    const interval = Math.max(10, Number(this.consumerProperties()["auto.commit.interval.ms"]));
    this.commitTimer = setInterval(() => void this.commitSettled(), interval);
    const consumer = this.consumer!;
    let backoff = this.config.getFloat("sleep_on_error");
    while (!this.stopping) {
      const go = this.whenReady();
      if (go !== true && !(await this.waitWhilePaused(go))) break;
      let records = this.held;
      if (records.length > 0) this.held = [];
      else {
        try {
          records = await consumer.consume(this.batchMax, this.pollMs);
          backoff = this.config.getFloat("sleep_on_error");
        } catch (e) {
          this.connection.clientError(`KafkaSource '${this.id}'`, toError(e));
          if (!(await this.sleep(backoff))) break;
          backoff = Math.min(RECONNECT_MAX_S, backoff * 2);
          continue;
        }
      }
      if (records.length > 0 && !this.stopping) this.hand(records);
    }
  }

  /** Connects, retrying with backoff while no broker answers; false when stopped meanwhile. */
  private async connect(): Promise<boolean> {
    let backoff = Math.max(0.1, this.config.getFloat("sleep_on_error"));
    while (!this.stopping) {
      const consumer = this.connection.createConsumer(
        {
          groupId: this.groupId,
          topics: this.topics,
          assign: this.pinned,
          properties: this.consumerProperties(),
          onAssign: (partitions) => this.onAssign(partitions),
          onRevoke: (partitions) => this.onRevoke(partitions),
        },
        `KafkaSource '${this.id}'`,
      );
      try {
        await consumer.connect();
        this.consumer = consumer;
        this.connected = true;
        return true;
      } catch (e) {
        await consumer.close().catch(() => {});
        this.connection.clientError(`KafkaSource '${this.id}'`, new Error(`${toError(e).message}; retrying in ${backoff} s`));
        if (!(await this.sleep(backoff))) return false;
        backoff = Math.min(RECONNECT_MAX_S, backoff * 2);
      }
    }
    return false;
  }

  /**
   * Hands records over, one receipt per `receipt_records`. Stops early when the pipeline is not
   * ready (or the source stops): the rest is held for the next round.
   */
  private hand(records: KafkaRecord[]): void {
    const pipeline = this.pipeline;
    const n = records.length;
    let i = 0;
    while (i < n) {
      const start = i;
      const end = Math.min(n, i + this.receiptRecords);
      const parts: Part[] = [];
      const receipt = new Receipt((r) => this.settled(parts, r));
      let part: Part | null = null;
      for (; i < end; i++) {
        if (i > start && (this.stopping || !pipeline.isReady())) break;
        const record = records[i]!;
        if (part === null || part.track.partition !== record.partition || part.track.topic !== record.topic) {
          part = this.partFor(record);
          parts.push(part);
        }
        part.entry.next = record.offset + 1;
        const context: EventContext = {
          kafka_key: record.key,
          kafka_headers: record.headers,
          _kafka_topic: record.topic,
          _kafka_partition: record.partition,
          _kafka_offset: record.offset,
          _kafka_timestamp: record.timestamp,
          receipt,
        };
        pipeline.process(record.value, context);
      }
      this.recordsIn += i - start;
      receipt.seal();
      if (i < end) {
        this.held = records.slice(i);
        return;
      }
    }
  }

  private partFor(record: KafkaRecord): Part {
    const track = this.tracks.get(record.topic, record.partition);
    const entry: BatchEntry = { first: record.offset, next: record.offset, done: false };
    track.entries.push(entry);
    return { track, epoch: track.epoch, entry };
  }

  private settled(parts: Part[], receipt: Receipt): void {
    for (const { track, epoch, entry } of parts) {
      if (track.epoch !== epoch) continue; // revoked or rewound since
      if (receipt.error === null) {
        track.settle(entry);
        continue;
      }
      // Not acknowledged: rewind to these records so they are delivered again (after the error is cleared).
      this.log.warn(`Records of ${track.topic}[${track.partition}] from offset ${entry.first} failed; they will be consumed again`, { error: receipt.error.message });
      track.epoch++;
      track.entries = [];
      this.held = this.held.filter((r) => r.topic !== track.topic || r.partition !== track.partition);
      if (this.consumer && !this.stopping) {
        this.consumer.seek({ topic: track.topic, partition: track.partition }, entry.first).catch((e: unknown) => this.connection.clientError(`KafkaSource '${this.id}'`, toError(e)));
      }
    }
  }

  /** Waits for the pipeline; after a short while with the consumer paused (and still polled). */
  private async waitWhilePaused(go: Promise<boolean>): Promise<boolean> {
    if (this.pipeline.isReady()) return go; // a chillout yield, not a throttle
    // A short throttle (a sink waiting for one acknowledgement) passes without pausing.
    let timer: NodeJS.Timeout | undefined;
    const early = await Promise.race([go, new Promise<null>((resolve) => (timer = setTimeout(resolve, PAUSE_AFTER_MS, null)))]);
    clearTimeout(timer);
    if (early !== null) return early;
    const consumer = this.consumer!;
    const paused = consumer.assignment();
    consumer.pause(paused);
    this.paused = paused;
    const poll = setInterval(() => {
      consumer.consume(this.batchMax, 0).then(
        (records) => this.held.push(...records),
        (e: unknown) => this.connection.clientError(`KafkaSource '${this.id}'`, toError(e)),
      );
    }, POLL_WHILE_PAUSED_MS);
    try {
      return await go;
    } finally {
      clearInterval(poll);
      this.paused = null;
      if (!this.stopping) {
        const owned = new Set(consumer.assignment().map((p) => `${p.topic}\u0000${p.partition}`));
        consumer.resume(paused.filter((p) => owned.has(`${p.topic}\u0000${p.partition}`)));
      }
    }
  }

  private onAssign(partitions: KafkaTopicPartition[]): void {
    // The client reads assigned partitions from the committed offsets: forget anything older.
    for (const p of partitions) this.tracks.get(p.topic, p.partition).reset();
    this.log.info(`Assigned ${partitions.map((p) => `${p.topic}[${p.partition}]`).join(" ") || "no partitions"} (group '${this.groupId}')`);
  }

  private onRevoke(partitions: KafkaTopicPartition[]): void {
    // The rebalance waits for this: commit what is settled while the partitions are still ours.
    const offsets = this.committable(partitions.map((p) => this.tracks.get(p.topic, p.partition)));
    if (offsets.length > 0 && this.consumer !== null) {
      try {
        this.consumer.commitNow(offsets);
        this.commits++;
      } catch (e) {
        this.connection.clientError(`KafkaSource '${this.id}'`, new Error(`commit before the rebalance failed: ${toError(e).message}`));
      }
    }
    const revoked = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    for (const p of partitions) this.tracks.get(p.topic, p.partition).reset();
    this.held = this.held.filter((r) => !revoked.has(`${r.topic}\u0000${r.partition}`));
  }

  private committable(tracks: Iterable<PartitionTrack>): KafkaCommit[] {
    const offsets: KafkaCommit[] = [];
    for (const t of tracks) if (t.committable > t.committed) offsets.push({ topic: t.topic, partition: t.partition, offset: t.committable });
    return offsets;
  }

  /** Commits, per partition, the offset after the highest contiguous settled record (serialised). */
  commitSettled(): Promise<void> {
    this.commitChain = this.commitChain.then(() => this.commitNow());
    return this.commitChain;
  }

  private async commitNow(): Promise<void> {
    const consumer = this.consumer;
    if (consumer === null) return;
    const tracks = [...this.tracks.values()].filter((t) => t.committable > t.committed);
    if (tracks.length === 0) return;
    const epochs = tracks.map((t) => t.epoch);
    const offsets = this.committable(tracks);
    try {
      await consumer.commit(offsets);
      this.commits++;
      for (let i = 0; i < tracks.length; i++) if (tracks[i]!.epoch === epochs[i]) tracks[i]!.committed = Math.max(tracks[i]!.committed, offsets[i]!.offset);
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
    return this.committable(this.tracks.values());
  }

  override async finalize(): Promise<void> {
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.commitTimer = null;
    const consumer = this.consumer;
    if (consumer === null) return;
    await this.commitSettled();
    this.consumer = null;
    this.connected = false;
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
      Connected: this.connected,
      Paused: this.paused !== null,
      Assignment: this.consumer?.assignment() ?? [],
      Lag: this.consumer?.lag() ?? [],
      Partitions: [...this.tracks.values()].map((t) => ({ topic: t.topic, partition: t.partition, committed: t.committed, committable: t.committable, inFlightBatches: t.entries.length })),
    };
  }
}

/** BSPump's `topic`: names separated by spaces (or commas); `^…` is a pattern; `name:partition` pins a partition. */
export function parseTopics(value: string, where: string): { subscribe: (string | RegExp)[]; assign: KafkaTopicPartition[] | null } {
  const items = value.split(/[\s,]+/).filter((s) => s !== "");
  if (items.length === 0) throw new ConfigError(`${where}: no topic given`);
  const subscribe: (string | RegExp)[] = [];
  const assign: KafkaTopicPartition[] = [];
  for (const item of items) {
    const pinned = /^([^:^]+):(\d+)$/.exec(item);
    if (pinned) assign.push({ topic: pinned[1]!, partition: Number(pinned[2]) });
    else if (item.startsWith("^")) {
      try {
        subscribe.push(new RegExp(item));
      } catch (e) {
        throw new ConfigError(`${where}: '${item}' is not a valid regular expression: ${(e as Error).message}`);
      }
    } else subscribe.push(item);
  }
  if (assign.length > 0 && subscribe.length > 0) {
    throw new ConfigError(`${where}: pinned partitions (name:partition) and whole topics cannot be mixed in one source; use two sources`);
  }
  return { subscribe, assign: assign.length > 0 ? assign : null };
}
