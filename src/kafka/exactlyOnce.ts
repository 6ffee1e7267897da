import type { EventContext, Pipeline, Receipt } from "../core/index.js";
import { KafkaClientError, type KafkaConsumerClient, type KafkaRecord } from "./client.js";
import type { KafkaTransaction } from "./KafkaTransaction.js";
import { committableOffsets, type BatchEntry, type PartitionTrack } from "./PartitionTrack.js";
import type { StateChangelog } from "./stateChangelog.js";

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
 * So after an abort for that reason the source reads in careful mode — a receipt per record —
 * until its commits have passed every record the aborted transaction had handed over. That names
 * the input record(s) whose output was refused; each goes once to the pipeline's error rules
 * (counted, dead-lettered) and is skipped from then on (`track.poison`), its offset committed with
 * the next transaction.
 *
 * With `state_topic`, the changelog takes part in the transactions (StateChangelog.prepare): the
 * checkpoints of a transaction's partitions commit with its offsets and outputs; an abort takes
 * the states of the partitions it rewinds back to their last committed checkpoint (else the
 * records read again would be counted twice); a revoke forgets them (the new owner restores the
 * last committed checkpoint, read with read_committed).
 */
export class ExactlyOnce {
  /**
   * After an abort for a refused record: per partition, the offset after the last record that
   * transaction had handed over. A receipt per record until the commits pass it (`careful`).
   */
  private readonly suspect = new Map<PartitionTrack, number>();
  /** Receipts of the open transaction handed over and not yet done. */
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
    private readonly state: StateChangelog | null = null,
  ) {
    if (state !== null) txn.addParticipant(state);
  }

  /** A part of a partition starts in this transaction at `offset`. */
  touch(track: PartitionTrack, offset: number): void {
    if (!this.restart.has(track)) this.restart.set(track, track.committed >= 0 ? track.committed : offset);
  }

  /** Whether records are handed over with a receipt each. */
  get careful(): boolean {
    return this.suspect.size > 0;
  }

  /** A receipt of `records` records was handed over. */
  opened(receipt: Receipt, records: number): void {
    if (this.handed === 0) this.openedAt = Date.now();
    this.live.add(receipt);
    this.handed += records;
  }

  /** Whether the transaction is to be closed now (bounds reached, or it must abort). */
  due(): boolean {
    if (this.handed === 0) return false;
    return this.abortReason !== null || this.txn.failure !== null || this.handed >= this.maxRecords || Date.now() - this.openedAt >= this.intervalMs;
  }

  /**
   * Milliseconds until the open transaction reaches `transaction_interval_ms`; a whole interval when
   * none is open (the source fetches ahead before it hands a batch over: that batch opens one).
   */
  msUntilDue(): number {
    return this.handed === 0 ? this.intervalMs : Math.max(0, this.openedAt + this.intervalMs - Date.now());
  }

  /** Partitions taken away by a rebalance: the open transaction has records of them, so it aborts. */
  revoked(tracks: PartitionTrack[]): void {
    for (const t of tracks) {
      this.restart.delete(t);
      this.suspect.delete(t);
    }
    if (this.handed > 0) this.abortReason ??= new Error("partitions revoked by a rebalance");
    if (this.state?.active) this.state.release(tracks);
  }

  /** A receipt is done: settle its parts, or note the failure (the transaction aborts). */
  settled(parts: Part[], receipt: Receipt): void {
    const error = receipt.error;
    // Not live: a receipt of a transaction aborted and given up on (its producer replaced); only a refusal still counts.
    const live = this.live.delete(receipt);
    for (const part of parts) {
      // A refusal names its input even when the report comes after the abort rewound the partition.
      if (error !== null && part.record !== undefined && error instanceof KafkaClientError && error.refused) this.refuse(part, error);
      else if (live && error === null && part.track.epoch === part.epoch) part.track.settle(part.entry);
    }
    if (!live) return;
    if (error !== null) this.abortReason ??= error;
    if (this.live.size === 0) this.idle?.();
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
    return { TransactionalId: t.transactionalId, Commits: t.commits, Aborts: t.aborts, Producers: t.producers, OpenReceipts: this.live.size, Handed: this.handed, Careful: this.careful, RefusedInputs: this.refusedInputs };
  }

  /** Closes the open transaction: commits when everything settled, aborts and rewinds otherwise. */
  async boundary(): Promise<void> {
    // A failed transaction holds its queued records until the abort purges them: no waiting then.
    const deadline = Date.now() + Math.max(1000, this.txn.timeoutMs * 0.75);
    if (!this.failing()) await Promise.race([this.txn.flush(), this.until(() => this.failing(), deadline)]);
    await this.until(() => this.live.size === 0 || this.failing(), deadline);
    if (this.live.size > 0 && !this.failing()) this.abortReason = new Error(`${this.live.size} receipts not settled within the transaction timeout`);
    const reason = this.abortReason ?? this.txn.failure;
    const consumer = this.host.currentConsumer();
    let committed = false;
    if (reason === null && consumer !== null) {
      const tracks = [...this.restart.keys()];
      const offsets = committableOffsets(tracks);
      committed = await this.txn.commit(consumer, offsets, tracks);
      if (committed) {
        for (const o of offsets) {
          const track = this.restartTrack(tracks, o.topic, o.partition);
          track.committed = o.offset;
          if (o.offset >= (this.suspect.get(track) ?? Infinity)) this.suspect.delete(track);
        }
      }
    } else {
      // Events of the aborted transaction still in the pipeline (a slow processor, a router's
      // queue) must not produce into the next one: they are read again from the last commit.
      for (const r of this.live) r.abandon();
      await this.txn.abort(reason ?? new Error("no consumer"));
    }
    if (!committed) {
      // The abort purged what was queued: once those reports are in, whether a record was refused as such is known.
      await this.until(() => this.live.size === 0, Date.now() + 5000);
      // Reports that never come (the producer was replaced, its queue closed with it) are not waited for again.
      this.live.clear();
      if (this.txn.refused) for (const track of this.restart.keys()) this.suspect.set(track, Math.max(this.suspect.get(track) ?? -1, handedUpTo(track)));
      // Reports of the aborted transaction's records (purged, refused late) are not the next one's failure.
      this.txn.failure = null;
      this.txn.refused = false;
      // With state: state and offset back to the last committed checkpoint together (the same offset as the last commit).
      for (const [track, offset] of this.restart) this.host.rewind(track, (this.state?.active ? this.state.rollback(track) : null) ?? offset);
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

/** The offset after the last record handed over on a partition (settled or not). */
function handedUpTo(track: PartitionTrack): number {
  const entries = track.entries;
  return entries.length > 0 ? entries[entries.length - 1]!.next : track.committable;
}
