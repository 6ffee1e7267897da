import { hostname } from "node:os";
import { toError, type Logger, type Receipt } from "../core/index.js";
import { KafkaClientError, type KafkaCommit, type KafkaConsumerClient, type KafkaHeaderPairs, type KafkaProperties, type KafkaTransactionalProducer } from "./client.js";
import type { DeliveryLedger } from "./DeliveryLedger.js";
import type { KafkaConnection } from "./KafkaConnection.js";
import type { PartitionTrack } from "./PartitionTrack.js";

/** A sink producing into the transaction (KafkaSink with `exactly_once`). */
export interface TransactionMember {
  /**
   * One of its records was acknowledged (error null) or refused / purged. `current`: false when
   * the record was produced by a producer since replaced (its transaction aborted; the member
   * stopped counting it at producerLost()).
   */
  onDelivery(error: Error | null, receipt: Receipt | undefined, current: boolean): void;
  /** A producer is ready (the first one, or a new one after fencing): produce what waits. */
  producerReady(producer: KafkaTransactionalProducer, ledger: DeliveryLedger | null): void;
  /** The producer is being replaced: hold records until producerReady() again; what it had queued may never be reported. */
  producerLost(): void;
}

/**
 * Something whose own records belong in the transaction — e.g. an analyzer's per-partition state
 * checkpoints, written to a compacted topic so that state, offsets and outputs commit together.
 * `prepare` runs at each transaction boundary after the source's records are all settled and
 * before the offsets are sent, with the input partitions that had records in the transaction; it
 * queues its records with `txn.produce()` (the commit flushes them). Then exactly one of
 * `committed` / `aborted` is called for that transaction. (A StateChangelog: `prepare` produces
 * what `stage(tracks)` returns, `committed` / `aborted` call `staged(true | false)`.)
 */
export interface TransactionParticipant {
  prepare?(txn: KafkaTransaction, tracks: readonly PartitionTrack[]): void | Promise<void>;
  committed?(): void;
  aborted?(reason: Error): void;
}

/**
 * The token of each record (librdkafka's opaque). Not DeliveryLedger's token-free order: when a
 * transaction fails, librdkafka reports purged records ahead of an earlier record's refusal,
 * and the refusal must name the right receipt.
 */
interface Token {
  owner: TransactionMember | undefined;
  receipt: Receipt | undefined;
  /** The producer it was produced with (KafkaTransaction.producers when it was made). */
  generation: number;
}

const RENEW_BACKOFF_MAX_MS = 30_000;
/**
 * An abort takes milliseconds, but librdkafka (2.15) can wait out the whole API timeout in one
 * case: after a record the broker refused (too large), the partition's next in-flight batches fail
 * with OUT_OF_ORDER_SEQUENCE, their retry waits for a partition drain, and the drain waits for the
 * abort. Past this bound the producer is replaced instead (same transactional.id: the broker
 * aborts what the old one left open).
 */
const ABORT_TIMEOUT_MS = 5_000;
/** Retries of a commit the client says may be retried (a timeout): a commit is never abandoned for a retriable error it may have made. */
const COMMIT_RETRIES = 5;

/**
 * The transactional producer of one KafkaConnection, shared by every `exactly_once` KafkaSink on
 * it and driven by the one `exactly_once` KafkaSource that reads for it: records produced between
 * two commits become visible to `read_committed` consumers together with the source's offsets, or
 * not at all. Zombies are fenced by the consumer group metadata sent with the offsets (KIP-447),
 * so one `transactional.id` per process is enough; a new producer (after a fatal error or a failed
 * abort) takes the same id, which fences the old one and aborts its open transaction.
 */
export class KafkaTransaction {
  readonly transactionalId: string;
  producer: KafkaTransactionalProducer | null = null;
  /** The first record failure of the open transaction: it cannot commit. */
  failure: Error | null = null;
  /** A record was refused by the broker as such (too large), not only purged after another's failure; reset by the source. */
  refused = false;
  /** How long a transaction may stay open (librdkafka's `transaction.timeout.ms`, from the first sink's properties). */
  timeoutMs = 60_000;
  commits = 0;
  aborts = 0;
  /** Producers created (more than one: fenced, or a fatal error). */
  producers = 0;
  private properties: KafkaProperties | null = null;
  private starting: Promise<void> | null = null;
  private closed = false;
  private driver: unknown = null;
  private readonly members = new Set<TransactionMember>();
  private readonly participants = new Set<TransactionParticipant>();
  private readonly log: Logger;

  constructor(
    private readonly connection: KafkaConnection,
    transactionalId: string,
  ) {
    this.transactionalId = transactionalId !== "" ? transactionalId : `bspump-${hostname()}-${process.pid}-${connection.id}`;
    this.log = connection.log;
  }

  /** A sink joins with its producer properties (the first sink's are used; sinks on one connection should agree). */
  join(member: TransactionMember, properties: KafkaProperties): void {
    this.members.add(member);
    this.properties ??= properties;
    if (this.producer !== null) member.producerReady(this.producer, null);
    else void this.ready();
  }

  leave(member: TransactionMember): void {
    this.members.delete(member);
  }

  /** The one source that commits the transaction; false when another has claimed it already. */
  claim(driver: unknown): boolean {
    if (this.driver !== null && this.driver !== driver) return false;
    this.driver = driver;
    return true;
  }

  addParticipant(participant: TransactionParticipant): void {
    this.participants.add(participant);
  }

  removeParticipant(participant: TransactionParticipant): void {
    this.participants.delete(participant);
  }

  /** Resolves when a producer is ready with a transaction begun. */
  ready(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  /** Queues a record of a participant (not a sink) in the open transaction; false when the client's queue is full. */
  produce(topic: string, partition: number | null, value: Buffer, key: Buffer | string | null, headers?: KafkaHeaderPairs): boolean {
    if (this.producer === null) throw new Error("KafkaTransaction: no producer ready");
    return this.producer.produce(topic, partition, value, key, headers, this.token(undefined, undefined));
  }

  private async open(): Promise<void> {
    let backoff = 500;
    while (!this.closed) {
      const properties: KafkaProperties = { ...(this.properties ?? {}), "transactional.id": this.transactionalId };
      const timeout = Number(properties["transaction.timeout.ms"] ?? 60_000);
      this.timeoutMs = timeout;
      const producer = this.connection.createTransactionalProducer(
        {
          properties,
          onDelivery: (error, token) => this.delivered(error, token as Token | undefined),
          onFatal: (error) => (this.failure ??= error),
        },
        `KafkaTransaction '${this.transactionalId}'`,
      );
      this.producers++;
      try {
        await producer.connect();
        await producer.initTransactions(timeout);
        await producer.beginTransaction();
        this.producer = producer;
        for (const m of this.members) m.producerReady(producer, null);
        return;
      } catch (e) {
        void producer.close().catch(() => {});
        this.connection.clientError(`KafkaTransaction '${this.transactionalId}'`, new Error(`${toError(e).message}; retrying in ${backoff} ms`));
        await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(RENEW_BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  private delivered(error: Error | null, token: Token | undefined): void {
    // Purged records (-152 in the queue, -151 in flight) are the consequence of an abort already
    // made, not a failure of the transaction open now.
    // A replaced producer's reports belong to a transaction aborted already: not the open one's failure.
    const current = token === undefined || token.generation === this.producers;
    if (error !== null && !(error instanceof KafkaClientError && (error.code === -152 || error.code === -151))) {
      if (current) this.failure ??= error;
      if (error instanceof KafkaClientError && error.refused) this.refused = true;
    }
    token?.owner?.onDelivery(error, token.receipt, current);
  }

  /** The token a member produces each record with. */
  token(owner: TransactionMember | undefined, receipt: Receipt | undefined): Token {
    return { owner, receipt, generation: this.producers };
  }

  /** Waits until every queued record is delivered or failed (librdkafka sends at once, not after linger.ms). */
  async flush(): Promise<void> {
    try {
      await this.producer?.flush(this.timeoutMs);
    } catch {
      // Timed out: the records that are still queued fail, and the commit with them.
    }
  }

  /**
   * Sends the consumer's offsets and commits; true when committed. Any failure aborts the
   * transaction (the caller rewinds to its last committed offsets) and returns false.
   */
  async commit(consumer: KafkaConsumerClient, offsets: KafkaCommit[], tracks: readonly PartitionTrack[] = []): Promise<boolean> {
    const producer = this.producer;
    if (producer === null) return false;
    if (this.failure !== null) {
      await this.abort(this.failure);
      return false;
    }
    try {
      for (const p of this.participants) await p.prepare?.(this, tracks);
      if (offsets.length > 0) await producer.sendOffsetsToTransaction(offsets, consumer, this.timeoutMs);
      for (let attempt = 0; ; attempt++) {
        try {
          await producer.commitTransaction(this.timeoutMs);
          break;
        } catch (e) {
          if (!(e instanceof KafkaClientError && e.retriable && attempt < COMMIT_RETRIES)) throw e;
        }
      }
    } catch (e) {
      await this.abort(toError(e));
      return false;
    }
    this.commits++;
    for (const p of this.participants) p.committed?.();
    await this.begin(producer);
    return true;
  }

  /** Aborts the open transaction (a new producer when the client cannot), and begins the next. */
  async abort(reason: Error): Promise<void> {
    this.aborts++;
    this.log.warn(`Kafka transaction aborted; reading again from the last committed offsets`, { error: reason.message, transactionalId: this.transactionalId });
    const producer = this.producer;
    this.failure = null;
    if (producer !== null) {
      try {
        if (reason instanceof KafkaClientError && reason.fatal) throw reason;
        await producer.abortTransaction(Math.min(this.timeoutMs, ABORT_TIMEOUT_MS));
        await producer.beginTransaction();
      } catch (e) {
        await this.renew(toError(e));
      }
    }
    for (const p of this.participants) p.aborted?.(reason);
  }

  private async begin(producer: KafkaTransactionalProducer): Promise<void> {
    try {
      await producer.beginTransaction();
    } catch (e) {
      await this.renew(toError(e));
    }
  }

  /** A new producer with the same transactional.id: it fences the old one and aborts what it left open. */
  private async renew(cause: Error): Promise<void> {
    this.log.warn("Kafka transactional producer replaced", { error: cause.message, transactionalId: this.transactionalId });
    const old = this.producer;
    this.producer = null;
    for (const m of this.members) m.producerLost();
    void old?.close().catch(() => {});
    this.failure = null;
    this.starting = null;
    await this.ready();
  }

  async close(): Promise<void> {
    this.closed = true;
    const producer = this.producer;
    this.producer = null;
    this.starting = null;
    for (const m of this.members) m.producerLost();
    if (producer !== null) await producer.close().catch(() => {});
  }
}
