import { ConfigError, locateConnection, Receipt, Source, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline, type WorkerSharing } from "../core/index.js";
import { KafkaConnection, type KafkaCommit, type KafkaConsumerClient, type KafkaProperties, type KafkaTopicPartition } from "./KafkaConnection.js";
import { committableOffsets, type BatchEntry, type PartitionTrack, PartitionTracks } from "./PartitionTrack.js";
import { consumerProperties, resolveAlias, noteIgnoredKeys, parseTopics } from "./settings.js";
import { StateChangelog } from "./stateChangelog.js";
import { OffsetCommitter } from "./OffsetCommitter.js";
import { BatchFetcher, type Batch } from "./BatchFetcher.js";
import { ConsumerPause } from "./ConsumerPause.js";
import { KAFKA_SOURCE_CONFIG as CONFIG } from "./kafkaSourceConfig.js";
import { ExactlyOnce, type ExactlyOnceHost, type Part } from "./exactlyOnce.js";

export { PartitionTrack, type BatchEntry } from "./PartitionTrack.js";
export { parseTopics } from "./settings.js";

const RECONNECT_MAX_S = 30;

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
export class KafkaSource extends Source implements ExactlyOnceHost {
  // Members of one consumer group: a partition, so a key, belongs to one worker.
  static override WorkerSharing: WorkerSharing = "partitioned";
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  static ConfigPassThrough = "the librdkafka consumer, with `_` read as `.` (e.g. `fetch.min.bytes`, `isolation.level`)";

  readonly connection: KafkaConnection;
  readonly topics: (string | RegExp)[];
  readonly pinned: KafkaTopicPartition[] | null;
  readonly groupId: string;
  private consumer: KafkaConsumerClient | null = null;
  private readonly tracks = new PartitionTracks();
  private commitTimer: NodeJS.Timeout | null = null;
  private readonly committer: OffsetCommitter;
  private readonly fetcher: BatchFetcher;
  private readonly pause = new ConsumerPause(() => void this.fetcher.fetch(0));
  private connected = false;
  private readonly receiptRecords: number;
  private readonly pollMs: number;
  /** `state_topic`: per-partition state of the pipeline's processors (null: none). */
  readonly state: StateChangelog | null;
  /** Records handed to the pipeline (for metrics and tests). */
  recordsIn = 0;
  /** exactly_once: the transactions this source commits (null: at-least-once). */
  readonly exactlyOnce: ExactlyOnce | null = null;

  constructor(app: Application, pipeline: Pipeline, connection: string | KafkaConnection, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.connection = locateConnection(app, connection, KafkaConnection);
    const section = `[${this.config.section}]`;
    this.groupId = resolveAlias(this.config, "group.id", "group_id", section);
    this.receiptRecords = Math.max(1, this.config.getInt("receipt_records"));
    this.fetcher = new BatchFetcher(() => this.consumer!, Math.max(1, this.config.getInt("buffer_size")));
    this.pollMs = Math.max(10, Math.round(this.config.getFloat("poll_interval") * 1000));
    const topics = parseTopics(this.config.getString("topic"), `${section} topic`);
    this.topics = topics.subscribe;
    this.pinned = topics.assign;
    const stateTopic = this.config.getString("state_topic");
    this.state = stateTopic === "" ? null : new StateChangelog(this.connection, stateTopic, this.groupId, this.log, `KafkaSource '${this.id}'`);
    this.committer = new OffsetCommitter(this.tracks, () => this.consumer, this.state, this.log, (e) => this.connection.clientError(`KafkaSource '${this.id}'`, e));
    if (this.state !== null) pipeline.partitionedState = this.state;
    for (const key of ["enable.auto.commit", "enable.auto.offset.store"] as const) {
      if (this.config.getBool(key)) throw new ConfigError(`${section} ${key} = true would commit records before they are settled (losing them on a crash); remove it`);
    }
    if (this.config.getBool("exactly_once")) {
      const txn = this.connection.transaction();
      if (!txn.claim(this)) throw new ConfigError(`${this.config.where("exactly_once")}: another exactly_once KafkaSource uses connection '${this.connection.id}'; give each its own connection`);
      if (this.pinned !== null) throw new ConfigError(`${this.config.where("exactly_once")}: exactly_once needs a consumer group (whole topics, not name:partition)`);
      this.exactlyOnce = new ExactlyOnce(this, txn, this.config.getInt("transaction_records"), this.config.getInt("transaction_interval_ms"), this.state);
    }
    app.metrics.addCollector(() => [
      {
        name: "bspump.kafka.source",
        type: "counter",
        tags: { pipeline: pipeline.id, source: this.id },
        fields: { "record.in": this.recordsIn, commit: this.commits, lag: this.consumer?.lag().reduce((s, p) => s + (p.lag ?? 0), 0) ?? 0 },
      },
    ]);
  }

  static override ConnectionClass = KafkaConnection;

  /** The librdkafka consumer properties of this source. */
  consumerProperties(): KafkaProperties {
    // exactly_once reads only committed records of transactional producers (librdkafka's default, stated).
    return this.exactlyOnce === null ? consumerProperties(this.config, this.groupId) : { "isolation.level": "read_committed", ...consumerProperties(this.config, this.groupId) };
  }

  currentConsumer(): KafkaConsumerClient | null {
    return this.consumer;
  }

  async main(): Promise<void> {
    noteIgnoredKeys(this.config, this.log, ["consumer_threads", "buffer_timeout", "sleep_on_retryable_error", "check_assignment_errors", "errors_max_retry_attempts"]);
    if (!(await this.connect())) return;
    const interval = Math.max(10, Number(this.consumerProperties()["auto.commit.interval.ms"]));
    const eos = this.exactlyOnce;
    if (eos === null) this.commitTimer = setInterval(() => void this.commitSettled(), interval);
    else {
      // The transactional producer first (a broker that is down is retried), unless stopped meanwhile.
      let up = false;
      void eos.txn.ready().then(() => (up = true));
      while (!up) if (!(await this.sleep(0.05))) return;
    }
    let backoff = this.config.getFloat("sleep_on_error");
    while (!this.stopping) {
      const go = this.whenReady();
      if (go !== true && !(await this.pause.wait(this.consumer!, go, this.pipeline.isReady(), () => this.stopping))) break;
      if (eos !== null && eos.due()) {
        await eos.boundary();
        continue;
      }
      if (this.fetcher.held.length === 0) await this.fetcher.fetch(this.fetchTimeout());
      if (this.fetcher.error !== null) {
        this.connection.clientError(`KafkaSource '${this.id}'`, this.fetcher.error);
        this.fetcher.error = null;
        if (!(await this.sleep(backoff))) break;
        backoff = Math.min(RECONNECT_MAX_S, backoff * 2);
        continue;
      }
      // A checkpoint waits for the partitions' records in flight to settle: nothing more meanwhile.
      if (this.state?.barrier) {
        await this.state.barrier;
        continue;
      }
      const batch = this.fetcher.held.shift();
      if (batch === undefined || this.stopping) continue;
      backoff = this.config.getFloat("sleep_on_error");
      // The client fetches the next batch (in its thread) while this one is handed over.
      if (this.fetcher.held.length === 0) void this.fetcher.fetch(this.fetchTimeout());
      this.hand(batch);
    }
  }

  /**
   * How long a fetch waits for the first record: `poll_interval`, but with exactly_once no longer
   * than the open transaction has left, so that it commits at its interval also when the input
   * runs dry (else its records wait for the poll to time out before they are visible).
   */
  private fetchTimeout(): number {
    const eos = this.exactlyOnce;
    return eos === null ? this.pollMs : Math.max(1, Math.min(this.pollMs, eos.msUntilDue()));
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
        if (this.state?.active) await this.state.open([...this.topics, ...(this.pinned ?? []).map((p) => p.topic)].filter((t): t is string => typeof t === "string"));
        await consumer.connect();
        this.consumer = consumer;
        this.connected = true;
        return true;
      } catch (e) {
        await consumer.close().catch(() => {});
        await this.state?.close();
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
  private hand(batch: Batch): void {
    const pipeline = this.pipeline;
    const { records, number } = batch;
    const n = records.length;
    let i = batch.start;
    const eos = this.exactlyOnce;
    const careful = eos !== null && eos.careful;
    const perReceipt = careful ? 1 : this.receiptRecords;
    while (i < n) {
      const start = i;
      const end = Math.min(n, i + perReceipt);
      const parts: Part[] = [];
      const receipt = new Receipt((r) => this.settled(parts, r));
      eos?.opened(receipt, end - start);
      let part: Part | null = null;
      let handed = 0;
      for (; i < end; i++) {
        if (i > start && (this.stopping || !pipeline.isReady())) break;
        const record = records[i]!;
        let track = part?.track;
        if (track === undefined || track.partition !== record.partition || track.topic !== record.topic) {
          track = this.tracks.get(record.topic, record.partition);
          part = null;
        }
        // A record fetched before its partition was revoked or rewound is not handed over.
        if (!track.admits(record.offset, number)) continue;
        if (part === null) {
          part = this.partFor(track, record.offset);
          parts.push(part);
          eos?.touch(track, record.offset);
        }
        part.entry.next = record.offset + 1;
        // exactly_once: an input whose output the broker refused went to the error rules once already.
        if (track.poison !== null && track.poison.has(record.offset)) continue;
        const context: EventContext = {
          kafka_key: record.key ?? null,
          kafka_headers: record.headers ?? null,
          _kafka_topic: record.topic,
          _kafka_partition: record.partition,
          _kafka_offset: record.offset,
          _kafka_timestamp: record.timestamp ?? -1,
          receipt,
        };
        handed++;
        if (careful) {
          part.record = record;
          part.context = context;
        }
        pipeline.process(record.value, context);
      }
      this.recordsIn += handed;
      receipt.seal();
      if (i < end) {
        batch.start = i;
        this.fetcher.held.unshift(batch);
        return;
      }
    }
  }

  private partFor(track: PartitionTrack, offset: number): Part {
    const entry: BatchEntry = { first: offset, next: offset, done: false };
    track.entries.push(entry);
    return { track, epoch: track.epoch, entry };
  }

  private settled(parts: Part[], receipt: Receipt): void {
    if (this.exactlyOnce !== null) return this.exactlyOnce.settled(parts, receipt);
    for (const { track, epoch, entry } of parts) {
      if (track.epoch !== epoch) continue; // revoked or rewound since
      if (receipt.error === null) {
        track.settle(entry);
        if (track.entries.length === 0) this.state?.settledAll(track);
        continue;
      }
      // Not acknowledged: rewind to these records so they are delivered again (after the error is cleared).
      this.log.warn(`Records of ${track.topic}[${track.partition}] from offset ${entry.first} failed; they will be consumed again`, { error: receipt.error.message });
      // With partitioned state, back to the last checkpoint: state and offset together.
      const from = (this.state?.active ? this.state.rollback(track) : null) ?? entry.first;
      this.rewind(track, from);
    }
  }

  /** Seeks a partition back to `offset`; records taken from the client before the seek took effect are dropped (PartitionTrack.admits). */
  rewind(track: PartitionTrack, offset: number): void {
    track.rewind(offset);
    if (this.consumer && !this.stopping) {
      this.consumer.seek({ topic: track.topic, partition: track.partition }, offset).then(
        () => track.sought(this.fetcher.lastAsked),
        (e: unknown) => {
          track.sought(this.fetcher.lastAsked);
          this.connection.clientError(`KafkaSource '${this.id}'`, toError(e));
        },
      );
    }
  }

  private onAssign(partitions: KafkaTopicPartition[]): void | Promise<KafkaCommit[]> {
    // The client reads assigned partitions from the committed offsets: forget anything older.
    for (const p of partitions) this.tracks.get(p.topic, p.partition).assign();
    this.log.info(`Assigned ${partitions.map((p) => `${p.topic}[${p.partition}]`).join(" ") || "no partitions"} (group '${this.groupId}')`);
    // Their state first; reading resumes at the offset it was checkpointed with.
    if (this.state?.active && partitions.length > 0) return this.state.restore(partitions);
  }

  private onRevoke(partitions: KafkaTopicPartition[]): void | Promise<void> {
    const tracks = partitions.map((p) => this.tracks.get(p.topic, p.partition));
    if (this.exactlyOnce !== null) {
      // Offsets commit only with their transaction's outputs: the open one aborts (its records are the new owner's now).
      this.exactlyOnce.revoked(tracks);
      this.revokeTracks(tracks);
      return;
    }
    if (this.state?.active) {
      // Checkpoints (of partitions with nothing in flight) are written and their offsets committed before the rebalance goes on.
      return this.state.revokeAndCommit(tracks, () => this.revokeTracks(tracks), (offsets) => this.committer.commitBeforeRebalance(offsets));
    }
    // The rebalance waits for this: commit what is settled while the partitions are still ours.
    this.committer.commitBeforeRebalance(committableOffsets(tracks));
    this.revokeTracks(tracks);
  }

  /** Held batches were fetched before: their records of these partitions are dropped. */
  private revokeTracks(tracks: PartitionTrack[]): void {
    const lastTaken = this.fetcher.lastTaken;
    for (const t of tracks) t.revoke(lastTaken);
  }

  /** Commits, per partition, the offset after the highest contiguous settled record (serialised). */
  commitSettled(): Promise<void> {
    return this.committer.commitSettled();
  }

  /** At-least-once commits made (exactly_once: its transactions' commits are ExactlyOnce's). */
  get commits(): number {
    return this.committer.commits;
  }

  /** Committed offsets per partition, as describe() lists them but without asking the client (cheap enough to poll). */
  committedOffsets(): KafkaCommit[] {
    return this.tracks.committed();
  }

  override async finalize(): Promise<void> {
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.commitTimer = null;
    const consumer = this.consumer;
    if (consumer === null) return;
    await this.fetcher.idle();
    if (this.exactlyOnce !== null) {
      // The last transaction: committed when its records settled, then the shared producer closes.
      await this.exactlyOnce.boundary();
      await this.exactlyOnce.txn.close();
    } else await this.commitSettled();
    this.consumer = null;
    this.connected = false;
    try {
      await consumer.close();
    } catch (e) {
      this.log.warn("Closing the Kafka consumer failed", { error: toError(e).message });
    }
    await this.state?.close();
  }

  override describe(): Record<string, unknown> {
    return {
      ...super.describe(),
      GroupId: this.groupId,
      Connected: this.connected,
      Paused: this.pause.paused !== null,
      Assignment: this.consumer?.assignment() ?? [],
      Lag: this.consumer?.lag() ?? [],
      State: this.state?.active ? { Topic: this.state.topic, Checkpoints: this.state.checkpoints, Restores: this.state.restores } : null,
      ...(this.exactlyOnce === null ? {} : { ExactlyOnce: this.exactlyOnce.describe() }),
      Partitions: [...this.tracks.values()].map((t) => ({ topic: t.topic, partition: t.partition, committed: t.committed, committable: t.committable, inFlightBatches: t.entries.length })),
    };
  }
}
