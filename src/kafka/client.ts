/*
 * What sources, sinks and the topic initializer need from a Kafka client. KafkaConnection builds
 * these from its settings; the one implementation (librdkafka through
 * @confluentinc/kafka-javascript) is in rdkafka.ts, so the client can be swapped there alone.
 */

/** Header values as they travel in the context (`kafka_headers`): BSPump's list of (name, value) pairs. */
export type KafkaHeaderList = [string, Buffer][];
/** Headers accepted by the sink: BSPump's list of pairs, or an object. */
export type KafkaHeadersInput = readonly (readonly [string, Buffer | string])[] | Readonly<Record<string, Buffer | string | undefined>>;
/** Headers as the producer takes them: one single-entry object per header, in order (names may repeat). */
export type KafkaHeaderPairs = Record<string, Buffer | string>[];

/**
 * One consumed record: the client's own message object (no copy per record), so absent fields may
 * be missing rather than null.
 */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key?: Buffer | null;
  readonly value: Buffer | null;
  /** Milliseconds since the epoch. */
  readonly timestamp?: number;
  readonly headers?: KafkaHeaderList;
}

export interface KafkaTopicPartitions {
  topic: string;
  partitions: number[];
}

export interface KafkaTopicPartition {
  topic: string;
  partition: number;
}

export interface KafkaCommit {
  topic: string;
  partition: number;
  /** The next offset to read (last settled + 1). */
  offset: number;
}

/** librdkafka properties: names as librdkafka spells them (`session.timeout.ms`). */
export type KafkaProperties = Record<string, string | number | boolean>;

export interface KafkaConsumerOptions {
  groupId: string;
  /** Subscribe to these names and ^patterns, or (`assign`) read exactly these partitions. */
  topics: (string | RegExp)[];
  assign: KafkaTopicPartition[] | null;
  /** librdkafka consumer and topic properties, merged over the connection's. */
  properties: KafkaProperties;
  /**
   * Partitions are being taken away: commit what is settled and forget them. A promise holds the
   * rebalance (the partitions stay ours) until it settles.
   */
  onRevoke: (partitions: KafkaTopicPartition[]) => void | Promise<void>;
  /**
   * Partitions were given to this consumer. A promise holds their assignment until it settles
   * (restoring their state first); it gives the offsets to read some of them from (the others
   * start at the group's committed offset).
   */
  onAssign: (partitions: KafkaTopicPartition[]) => void | Promise<KafkaCommit[]>;
}

/** A group consumer with manual commits, read by polling. */
export interface KafkaConsumerClient {
  /** Connects; rejects when no broker answers within the connection timeout. */
  connect(): Promise<void>;
  /** Up to `max` records, waiting at most `timeoutMs` for the first one. */
  consume(max: number, timeoutMs: number): Promise<KafkaRecord[]>;
  commit(offsets: KafkaCommit[]): Promise<void>;
  /** Commits on the calling tick (used while a rebalance waits for it). */
  commitNow(offsets: KafkaCommit[]): void;
  pause(partitions: KafkaTopicPartition[]): void;
  resume(partitions: KafkaTopicPartition[]): void;
  /** Rewinds a partition: the next records of it start at `offset`. */
  seek(partition: KafkaTopicPartition, offset: number): Promise<void>;
  assignment(): KafkaTopicPartition[];
  /** Reads exactly these partitions from these offsets, outside any group rebalance (empty: none). */
  assignFrom(partitions: KafkaCommit[]): void;
  /** The partition's first and next offsets on the broker. */
  watermarks(topic: string, partition: number): Promise<{ low: number; high: number }>;
  /** The next offset this consumer reads of an assigned partition (past transaction markers too); null: not known yet. */
  position(topic: string, partition: number): number | null;
  /** Consumer lag per assigned partition (high watermark − position), from the client's cache; null: nothing taken from it yet. */
  lag(): { topic: string; partition: number; lag: number | null }[];
  close(): Promise<void>;
}

export interface KafkaProducerOptions {
  /** librdkafka producer properties, merged over the connection's. */
  properties: KafkaProperties;
  /**
   * Called once per produced record when the broker acknowledged it (error null) or the client
   * gave up on it; `token` is what produce() was given (undefined when none), `partition` where it went.
   */
  onDelivery: (error: Error | null, token: unknown, topic: string, partition: number) => void;
  /** The producer can no longer deliver (a fatal error of the idempotent producer). */
  onFatal: (error: Error) => void;
}

export interface KafkaProducerClient {
  connect(): Promise<void>;
  /**
   * Queues one record to `partition` (null: the client's partitioner chooses); false when the
   * client's queue is full (try again after deliveries). A token costs the client a handle per record.
   */
  produce(topic: string, partition: number | null, value: Buffer, key: Buffer | string | null, headers: KafkaHeaderPairs | undefined, token: unknown): boolean;
  /** The topic's partition count (0 when the topic is not known to the broker). */
  partitionCount(topic: string): Promise<number>;
  /** Waits until every queued record is delivered or failed, at most `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaTopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface KafkaAdminClient {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(topics: KafkaTopicSpec[]): Promise<void>;
  /** Committed offsets of a group, per partition (`-1` when none). */
  fetchCommitted(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]>;
  /** Latest offset (high watermark) per partition. */
  fetchLatest(topic: string): Promise<{ partition: number; offset: string }[]>;
  close(): Promise<void>;
}

/** librdkafka's codes for a record the broker refused as such: producing it again cannot succeed. */
const REFUSED_CODES = new Set([2 /* CORRUPT_MESSAGE */, 10 /* MSG_SIZE_TOO_LARGE */, 18 /* RECORD_LIST_TOO_LARGE */, 87 /* INVALID_RECORD */]);

/** An error of the Kafka client, with librdkafka's code and what it allows. */
export class KafkaClientError extends Error {
  constructor(
    message: string,
    readonly code: number,
    /** The client can no longer be used (e.g. a fenced transactional producer): make a new one. */
    readonly fatal = false,
    /** The transaction cannot commit and must be aborted. */
    readonly abortable = false,
    /** The operation may be tried again as it is (e.g. a commit that timed out). */
    readonly retriable = false,
  ) {
    super(message);
    this.name = "KafkaClientError";
  }

  /** The broker refused this record itself (too large, invalid): sending it again cannot succeed. */
  get refused(): boolean {
    return REFUSED_CODES.has(this.code);
  }
}

/**
 * A producer with a `transactional.id` (exactly-once): records produced between begin and commit
 * become visible to `read_committed` consumers together with the consumer offsets sent in the
 * same transaction, or not at all.
 */
export interface KafkaTransactionalProducer extends KafkaProducerClient {
  initTransactions(timeoutMs: number): Promise<void>;
  beginTransaction(): Promise<void>;
  /** Adds the consumer's offsets to the transaction, with its group metadata (KIP-447 fencing). */
  sendOffsetsToTransaction(offsets: KafkaCommit[], consumer: KafkaConsumerClient, timeoutMs: number): Promise<void>;
  commitTransaction(timeoutMs: number): Promise<void>;
  abortTransaction(timeoutMs: number): Promise<void>;
}

export const KAFKA_COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
