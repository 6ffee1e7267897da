import type { EventContext, Pipeline, Receipt } from "../core/index.js";
import { KafkaClientError, type KafkaConsumerClient, type KafkaRecord } from "./client.js";
import type { KafkaTransaction } from "./KafkaTransaction.js";
import { committableOffsets, type BatchEntry, type PartitionTrack } from "./PartitionTrack.js";

/** The records of one partition under one receipt; in careful mode also the one record and its context. */
export interface Part {
  track: PartitionTrack;
  epoch: number;
  entry: BatchEntry;
  record?: KafkaRecord;
  context?: EventContext;
}

/** What the driver needs of its KafkaSource. */
export interface ExactlyOnceHost {
  readonly id: string;
  readonly pipeline: Pipeline;
  currentConsumer(): KafkaConsumerClient | null;
  /** Seeks the partition back to `offset` (the track drops records fetched before the seek). */
  rewind(track: PartitionTrack, offset: number): void;
}

/**
 * A KafkaSource's side of exactly-once (`exactly_once = true`). Records are handed over in
 * transactions bounded by `transaction_records` and `transaction_interval_ms`; at the bound the
 * source stops handing records over, waits until every record taken is settled (all its outputs
 * produced — in this pipeline, in pipelines it routes to, by a generator or an aggregator's
 * flush), and commits the settled offsets with the outputs (KafkaTransaction.commit). A record
 * failure, a rebalance or a failed commit aborts instead: every partition with records in the
 * transaction is rewound to its last commit.
 *
 * A record the broker refused as such (too large) would abort the same transaction on every try.
 * So after an abort for that reason the next transaction runs in careful mode — a receipt per
 * record —, which names the input record(s) whose output was refused: each goes once to the
 * pipeline's error rules (counted, dead-lettered) and is skipped from then on (`track.poison`),
 * its offset committed with the next transaction.
 */
export class ExactlyOnce {
  /** A receipt per record (after an abort for a refused record), until a transaction commits. */
  careful = false;
  /** Receipts handed over and not yet done. */
  private open = 0;
  private readonly live = new Set<Receipt>();
  private idle: (() => void) | null = null;
  private handed = 0;
  private openedAt = 0;
  private abortReason: Error | null = null;
  /** Partitions with records in the open transaction, and the offset to rewind each to on abort. */
  private readonly restart = new Map<PartitionTrack, number>();
  /** Input records sent to the error rules because the broker refused their output. */
  refusedInputs = 0;

  constructor(
    private readonly host: ExactlyOnceHost,
    readonly txn: KafkaTransaction,
    private readonly maxRecords: number,
    private readonly intervalMs: number,
  ) {}

  /** A part of a partition starts in this transaction at `offset`. */
  touch(track: PartitionTrack, offset: number): void {
    if (!this.restart.has(track)) this.restart.set(track, track.committed >= 0 ? track.committed : offset);
  }

  /** A receipt of `records` records was handed over. */
  opened(receipt: Receipt, records: number): void {
    if (this.handed === 0) this.openedAt = Date.now();
    this.open++;
    this.live.add(receipt);
    this.handed += records;
  }

  /** Whether the transaction is to be closed now (bounds reached, or it must abort). */
  due(): boolean {
    if (this.handed === 0) return false;
    return this.abortReason !== null || this.txn.failure !== null || this.handed >= this.maxRecords || Date.now() - this.openedAt >= this.intervalMs;
  }

  /** Partitions taken away by a rebalance: the open transaction has records of them, so it aborts. */
  revoked(tracks: PartitionTrack[]): void {
    for (const t of tracks) this.restart.delete(t);
    if (this.handed > 0) this.abortReason ??= new Error("partitions revoked by a rebalance");
  }

  /** A receipt is done: settle its parts, or note the failure (the transaction aborts). */
  settled(parts: Part[], receipt: Receipt): void {
    const error = receipt.error;
    for (const part of parts) {
      // A refusal names its input even when the report comes after the abort rewound the partition.
      if (error !== null && part.record !== undefined && error instanceof KafkaClientError && error.refused) this.refuse(part, error);
      else if (error === null && part.track.epoch === part.epoch) part.track.settle(part.entry);
    }
    if (error !== null) this.abortReason ??= error;
    this.live.delete(receipt);
    if (--this.open === 0) this.idle?.();
  }

  /** Careful mode found an input whose output the broker refused: error rules once, skipped from now on. */
  private refuse(part: Part, error: Error): void {
    const { track, record, context } = part;
    (track.poison ??= new Set()).add(record!.offset);
    this.refusedInputs++;
    const ctx: EventContext = { ...context!, receipt: undefined };
    this.host.pipeline.eventFailed(ctx, record!.value, new Error(`the broker refused the output of ${track.topic}[${track.partition}] offset ${record!.offset}: ${error.message}`), this.host);
  }

  describe(): Record<string, unknown> {
    const t = this.txn;
    return { TransactionalId: t.transactionalId, Commits: t.commits, Aborts: t.aborts, Producers: t.producers, OpenReceipts: this.open, Handed: this.handed, Careful: this.careful, RefusedInputs: this.refusedInputs };
  }

  /** Closes the open transaction: commits when everything settled, aborts and rewinds otherwise. */
  async boundary(): Promise<void> {
    // A failed transaction holds its queued records until the abort purges them: no waiting then.
    const deadline = Date.now() + Math.max(1000, this.txn.timeoutMs * 0.75);
    if (!this.failing()) await Promise.race([this.txn.flush(), this.until(() => this.failing(), deadline)]);
    await this.until(() => this.open === 0 || this.failing(), deadline);
    if (this.open > 0 && !this.failing()) this.abortReason = new Error(`${this.open} receipts not settled within the transaction timeout`);
    const reason = this.abortReason ?? this.txn.failure;
    const consumer = this.host.currentConsumer();
    let committed = false;
    if (reason === null && consumer !== null) {
      const tracks = [...this.restart.keys()];
      const offsets = committableOffsets(tracks);
      committed = await this.txn.commit(consumer, offsets, tracks);
      if (committed) {
        for (const o of offsets) this.restartTrack(tracks, o.topic, o.partition).committed = o.offset;
        this.careful = false;
      }
    } else {
      // Events of the aborted transaction still in the pipeline (a slow processor, a router's
      // queue) must not produce into the next one: they are read again from the last commit.
      for (const r of this.live) this.txn.stale.add(r);
      await this.txn.abort(reason ?? new Error("no consumer"));
    }
    if (!committed) {
      // The abort purged what was queued: once those reports are in, whether a record was refused as such is known.
      await this.until(() => this.open === 0, Date.now() + 5000);
      if (this.txn.refused) this.careful = true;
      // Reports of the aborted transaction's records (purged, refused late) are not the next one's failure.
      this.txn.failure = null;
      this.txn.refused = false;
      for (const [track, offset] of this.restart) this.host.rewind(track, offset);
    }
    this.restart.clear();
    this.handed = 0;
    this.abortReason = null;
  }

  private failing(): boolean {
    return this.abortReason !== null || this.txn.failure !== null;
  }

  /** Resolves when `done()` holds (checked when the last receipt is done, and every 20 ms), or at the deadline. */
  private until(done: () => boolean, deadline: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearInterval(timer);
        this.idle = null;
        resolve();
      };
      const check = (): void => {
        if (done() || Date.now() >= deadline) finish();
      };
      const timer = setInterval(check, 20);
      this.idle = check;
    });
  }

  private restartTrack(tracks: PartitionTrack[], topic: string, partition: number): PartitionTrack {
    return tracks.find((t) => t.topic === topic && t.partition === partition)!;
  }

}
