import { toError, type EventContext, type Logger, type PartitionedState, type PartitionedStateHost } from "../core/index.js";
import type { KafkaCommit, KafkaConsumerClient, KafkaProducerClient, KafkaTopicPartition } from "./client.js";
import type { KafkaConnection } from "./KafkaConnection.js";
import type { KafkaTransaction, TransactionParticipant } from "./KafkaTransaction.js";
import type { PartitionTrack } from "./PartitionTrack.js";
import { decodeCheckpoint, encodeCheckpoint, readPartition } from "./changelogRecords.js";

/*
 * KafkaSource's `state_topic`: the state of stateful processors (a partitioned TimeWindowAnalyzer,
 * SessionAnalyzer), checkpointed per input partition to a compacted Kafka topic, as Kafka
 * Streams' changelog topics. Why a topic and not files: the process that gets a partition in a
 * rebalance may run on another machine; the topic is where every member can read it.
 *
 * One record per input partition and checkpoint: key `<topic>[<partition>]`, written to the
 * changelog partition of the same number, value = the offset it goes with and every registered
 * state's bytes. Compaction keeps the last record per key. A checkpoint is taken only when every
 * record of the partition handed to the pipeline has settled (so the state holds exactly the input
 * before that offset), written (acknowledged by all in-sync replicas) before the offset is
 * committed, and restored, with reading resuming at its offset, before the partition's first
 * record is handed over.
 */

/** One partition's checkpoint: where its input resumes, and the states that go with it. */
interface Checkpoint {
  topic: string;
  partition: number;
  offset: number;
  value: Buffer;
  /** The track's epoch when taken: a checkpoint of a partition revoked since is not committed. */
  epoch: number;
  track: PartitionTrack;
}

interface Delivery {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** How long a restore waits for more changelog records before it takes what it read as complete. */
const READ_IDLE_MS = 3000;
/** Longest the source stops handing records over for a checkpoint. */
const BARRIER_MAX_MS = 5000;

export class StateChangelog implements PartitionedStateHost, TransactionParticipant {
  private readonly owners: PartitionedState[] = [];
  /** Partition names, by topic and partition number (no string built per event). */
  private readonly names = new Map<string, string[]>();
  private producer: KafkaProducerClient | null = null;
  private reader: KafkaConsumerClient | null = null;
  /** Taken, not written yet, by partition name (the newest). */
  private readonly pending = new Map<string, Checkpoint>();
  /** The last checkpoint written or restored, by partition name: what a rewind returns to. */
  private readonly written = new Map<string, { offset: number; value: Buffer | null }>();
  /** exactly_once: the checkpoints in the open transaction. */
  private staging: Checkpoint[] = [];
  /** Partitions whose checkpoint waits until their in-flight records settle. */
  private readonly wanted = new Set<PartitionTrack>();
  /** While checkpoints are wanted: settles when they are taken (or given up); the source hands nothing over meanwhile. */
  barrier: Promise<void> | null = null;
  private lift: (() => void) | null = null;
  private barrierTimer: NodeJS.Timeout | null = null;
  /** Checkpoints written and restores made (metrics, tests). */
  checkpoints = 0;
  restores = 0;

  constructor(
    private readonly connection: KafkaConnection,
    readonly topic: string,
    private readonly groupId: string,
    private readonly log: Logger,
    private readonly component: string,
  ) {}

  register(state: PartitionedState): void {
    if (this.owners.some((o) => o.stateName === state.stateName)) throw new Error(`${this.component}: two states named '${state.stateName}' registered`);
    this.owners.push(state);
  }

  /** Whether anything keeps state per partition (else the source works as without `state_topic`). */
  get active(): boolean {
    return this.owners.length > 0;
  }

  partitionOf(context: EventContext): string | null {
    const topic = context._kafka_topic;
    const partition = context._kafka_partition;
    if (typeof topic !== "string" || typeof partition !== "number") return null;
    return this.nameOf(topic, partition);
  }

  nameOf(topic: string, partition: number): string {
    let byNumber = this.names.get(topic);
    if (byNumber === undefined) this.names.set(topic, (byNumber = []));
    return (byNumber[partition] ??= `${topic}[${partition}]`);
  }

  /** Creates the changelog topic when missing (compacted, as many partitions as the largest input topic) and connects. */
  async open(inputTopics: string[]): Promise<void> {
    const producer = this.connection.createProducer(
      {
        properties: { acks: "all", "enable.idempotence": true, "linger.ms": 5 },
        onDelivery: (error, token) => {
          const d = token as Delivery;
          if (error) d.reject(error);
          else d.resolve();
        },
        onFatal: (error) => this.log.error(`${this.component}: state changelog producer failed`, { error }),
      },
      this.component,
    );
    await producer.connect();
    this.producer = producer;
    let partitions = 1;
    for (const t of inputTopics) partitions = Math.max(partitions, await producer.partitionCount(t));
    // Asked before any metadata request names it: a broker with auto.create.topics.enable would
    // create it with its default partition count (and not compacted).
    await this.ensureTopic(partitions);
    const have = await producer.partitionCount(this.topic);
    if (have < partitions) throw new Error(`state_topic '${this.topic}' has ${have} partitions, fewer than the input's ${partitions}`);
    const reader = this.connection.createConsumer(
      {
        groupId: `${this.groupId}.state-reader`,
        topics: [],
        assign: [],
        // read_committed: with exactly_once the checkpoints are written in transactions; an aborted one is not state.
        properties: { "group.id": `${this.groupId}.state-reader`, "enable.auto.commit": false, "auto.offset.reset": "earliest", "isolation.level": "read_committed" },
        onAssign: () => {},
        onRevoke: () => {},
      },
      this.component,
    );
    await reader.connect();
    this.reader = reader;
  }

  private async ensureTopic(partitions: number): Promise<void> {
    const admin = this.connection.createAdmin();
    try {
      await admin.connect();
      if ((await admin.listTopics()).includes(this.topic)) return;
      await admin.createTopics([{ topic: this.topic, numPartitions: partitions, replicationFactor: 1, configs: { "cleanup.policy": "compact" } }]);
      this.log.info(`Created the state changelog topic '${this.topic}' (${partitions} partitions, compacted)`);
    } catch (e) {
      // Another member of the group may have created it meanwhile.
      if (!/exist/i.test(toError(e).message)) throw e;
    } finally {
      await admin.close().catch(() => {});
    }
  }

  /**
   * Checkpoints these partitions (whose settled offsets moved): at once when nothing of theirs is
   * in flight, else as soon as their in-flight records settle (settledAll). Then writes what was
   * taken and returns the offsets that may now be committed.
   */
  async checkpoint(tracks: PartitionTrack[]): Promise<KafkaCommit[]> {
    for (const t of tracks) {
      if (t.entries.length === 0) this.take(t);
      else this.wanted.add(t);
    }
    if (this.wanted.size > 0) this.raiseBarrier();
    return this.flush([...this.pending.values()]);
  }

  /**
   * A state holds every record handed over, settled or not, so a checkpoint is taken when none of
   * the partition's records is in flight. Under a steady stream that moment may never come by
   * itself: the source stops handing records over until the wanted checkpoints are taken (as
   * Flink's aligned barrier), at most BARRIER_MAX_MS (a sink that does not settle does not stop
   * the pipeline for good; the checkpoint is then tried at the next commit).
   */
  private raiseBarrier(): void {
    if (this.barrier !== null) return;
    this.barrier = new Promise<void>((resolve) => (this.lift = resolve));
    this.barrierTimer = setTimeout(() => {
      this.wanted.clear();
      this.lowerBarrier();
    }, BARRIER_MAX_MS);
  }

  private lowerBarrier(): void {
    if (this.barrier === null || this.wanted.size > 0) return;
    clearTimeout(this.barrierTimer!);
    this.barrier = null;
    this.barrierTimer = null;
    this.lift!();
    this.lift = null;
  }

  /** Every record of the track handed over has settled: its checkpoint is taken now if one is wanted. */
  settledAll(track: PartitionTrack): void {
    if (this.wanted.delete(track)) {
      this.take(track);
      this.lowerBarrier();
    }
  }

  /** Snapshots every state of the partition; its offset is the track's settled offset (nothing in flight). */
  private take(track: PartitionTrack): void {
    if (track.committable < 0) return;
    const name = this.nameOf(track.topic, track.partition);
    const states = new Map<string, Uint8Array>();
    for (const owner of this.owners) {
      const bytes = owner.snapshot(name);
      if (bytes !== null) states.set(owner.stateName, bytes);
    }
    const value = encodeCheckpoint(track.committable, states);
    this.pending.set(name, { topic: track.topic, partition: track.partition, offset: track.committable, value, epoch: track.epoch, track });
  }

  /** Writes checkpoints (waiting for the brokers' acknowledgement); returns the offsets to commit for those still owned. */
  private async flush(checkpoints: Checkpoint[], revoked = false): Promise<KafkaCommit[]> {
    for (const c of checkpoints) this.pending.delete(this.nameOf(c.topic, c.partition));
    if (checkpoints.length === 0) return [];
    const producer = this.producer;
    if (producer === null) throw new Error("state changelog not open");
    const deliveries: Promise<void>[] = [];
    for (const c of checkpoints) {
      const name = this.nameOf(c.topic, c.partition);
      deliveries.push(
        new Promise<void>((resolve, reject) => {
          const token: Delivery = { resolve, reject };
          if (!producer.produce(this.topic, c.partition, c.value, name, undefined, token)) reject(new Error("state changelog producer queue full"));
        }),
      );
    }
    const results = await Promise.allSettled(deliveries);
    const commits: KafkaCommit[] = [];
    for (let i = 0; i < checkpoints.length; i++) {
      const c = checkpoints[i]!;
      const r = results[i]!;
      if (r.status === "rejected") {
        // Not written: its offset is not committed; the next checkpoint of the partition covers it.
        this.log.warn(`${this.component}: writing the state of ${this.nameOf(c.topic, c.partition)} failed; its offset is not committed`, { error: toError(r.reason).message });
        continue;
      }
      this.checkpoints++;
      if (revoked) {
        commits.push({ topic: c.topic, partition: c.partition, offset: c.offset });
        continue;
      }
      if (c.track.epoch !== c.epoch) continue;
      this.written.set(this.nameOf(c.topic, c.partition), { offset: c.offset, value: c.value });
      commits.push({ topic: c.topic, partition: c.partition, offset: c.offset });
    }
    return commits;
  }

  /**
   * The partitions are being revoked: checkpoints those with nothing in flight (the others keep
   * their last checkpoint, which their committed offset goes with), lets go of their states
   * (`revoked`: the source forgets the tracks), writes the checkpoints and commits their offsets
   * while the partitions are still ours (the rebalance waits for the promise).
   */
  async revokeAndCommit(tracks: PartitionTrack[], revoked: () => void, commit: (offsets: KafkaCommit[]) => void): Promise<void> {
    const mine: Checkpoint[] = [];
    for (const t of tracks) {
      if (t.entries.length === 0) this.take(t);
      const c = this.pending.get(this.nameOf(t.topic, t.partition));
      if (c !== undefined) mine.push(c);
    }
    this.release(tracks);
    revoked();
    commit(await this.flush(mine, true));
  }

  /** The partitions went to another process, which restores them from their last checkpoint: their states are forgotten here. */
  release(tracks: readonly PartitionTrack[]): void {
    for (const t of tracks) {
      this.wanted.delete(t);
      this.lowerBarrier();
      const name = this.nameOf(t.topic, t.partition);
      for (const owner of this.owners) owner.release(name);
      this.written.delete(name);
    }
  }

  /**
   * exactly_once (TransactionParticipant, added by the source's ExactlyOnce): at a transaction
   * boundary every record handed over has settled, so each partition that had records in the
   * transaction is checkpointed now and the checkpoint produced in the transaction — state,
   * results and offsets then commit together, or none of them.
   */
  prepare(txn: KafkaTransaction, tracks: readonly PartitionTrack[]): void {
    if (!this.active) return;
    for (const r of this.stage(tracks)) {
      // Thrown inside the commit: the transaction aborts (a missing checkpoint must not commit its offsets).
      if (!txn.produce(r.topic, r.partition, r.value, r.key)) throw new Error(`${this.component}: the transaction's producer queue is full; state checkpoint not written`);
    }
  }

  committed(): void {
    this.staged(true);
  }

  aborted(): void {
    this.staged(false);
  }

  /** Checkpoints these partitions (nothing of theirs in flight) and returns the records to produce in the transaction; staged() then says how it ended. */
  stage(tracks: readonly PartitionTrack[]): { topic: string; partition: number; key: string; value: Buffer }[] {
    for (const t of tracks) if (t.entries.length === 0) this.take(t);
    this.staging = [...this.pending.values()];
    this.pending.clear();
    return this.staging.map((c) => ({ topic: this.topic, partition: c.partition, key: this.nameOf(c.topic, c.partition), value: c.value }));
  }

  /**
   * The transaction of the staged checkpoints committed (they are the partitions' last) or
   * aborted (they are dropped; the abort rewinds each of the transaction's partitions, and
   * rollback() takes its states back to the last committed checkpoint with it).
   */
  staged(committed: boolean): void {
    if (committed) {
      for (const c of this.staging) if (c.track.epoch === c.epoch) this.written.set(this.nameOf(c.topic, c.partition), { offset: c.offset, value: c.value });
    }
    this.staging = [];
  }

  /**
   * Restores the states of newly assigned partitions from the changelog; returns, for those with a
   * checkpoint, the offset to read from (its offset: the state holds everything before it).
   */
  async restore(partitions: KafkaTopicPartition[]): Promise<KafkaCommit[]> {
    const reader = this.reader;
    if (reader === null) throw new Error("state changelog not open");
    const wantedBy = new Map<number, Set<string>>();
    for (const p of partitions) {
      const set = wantedBy.get(p.partition) ?? new Set<string>();
      set.add(this.nameOf(p.topic, p.partition));
      wantedBy.set(p.partition, set);
    }
    const last = new Map<string, Buffer>();
    for (const [n, names] of wantedBy) {
      for (const record of await readPartition(reader, this.topic, n, READ_IDLE_MS)) {
        const key = record.key?.toString() ?? "";
        if (names.has(key) && record.value !== null) last.set(key, record.value);
      }
    }
    const from: KafkaCommit[] = [];
    for (const p of partitions) {
      const name = this.nameOf(p.topic, p.partition);
      const value = last.get(name) ?? null;
      const offset = this.apply(name, value);
      if (offset !== null) from.push({ topic: p.topic, partition: p.partition, offset });
      this.log.info(`${name}: ${value === null ? "no checkpoint, state starts empty" : `state restored (${value.length} bytes), reading from offset ${offset}`}`);
      this.written.set(name, { offset: offset ?? -1, value });
      this.restores++;
    }
    return from;
  }

  /**
   * Back to the last checkpoint of a partition after its records failed, or (exactly_once) its
   * transaction aborted — they are consumed again, and a state that kept them would count them
   * twice: the states are restored; returns the offset to read from (null: no checkpoint, states emptied).
   */
  rollback(track: PartitionTrack): number | null {
    const name = this.nameOf(track.topic, track.partition);
    this.wanted.delete(track);
    this.lowerBarrier();
    this.pending.delete(name);
    const w = this.written.get(name);
    const offset = this.apply(name, w?.value ?? null);
    return offset;
  }

  /** Gives each state its part of a checkpoint value (null: none); returns the value's offset. */
  private apply(name: string, value: Buffer | null): number | null {
    if (value === null) {
      for (const owner of this.owners) owner.restore(name, null);
      return null;
    }
    const { offset, states } = decodeCheckpoint(value);
    for (const owner of this.owners) owner.restore(name, states.get(owner.stateName) ?? null);
    return offset;
  }

  async close(): Promise<void> {
    this.wanted.clear();
    this.lowerBarrier();
    const producer = this.producer;
    const reader = this.reader;
    this.producer = null;
    this.reader = null;
    await producer?.flush(10_000).catch(() => {});
    await producer?.close().catch(() => {});
    await reader?.close().catch(() => {});
  }
}
