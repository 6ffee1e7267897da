import type { KafkaCommit } from "./client.js";

/** Records of one partition handed to the pipeline under one receipt, waiting for it. */
export interface BatchEntry {
  /** Offset after the last record handed over: what to commit once this and all before it are settled. */
  next: number;
  first: number;
  done: boolean;
}

/**
 * Offsets of one partition: what was handed over, in order, and what can be / was committed.
 * An offset becomes committable only when every record before it is settled, so a crash never
 * skips an unsettled record (at-least-once).
 */
export class PartitionTrack {
  /** Bumped when the partition is revoked, reassigned or rewound: receipts of older entries are ignored. */
  epoch = 0;
  entries: BatchEntry[] = [];
  /** Next offset to commit (every record before it is settled); -1 when nothing new is settled. */
  committable = -1;
  committed = -1;
  /** exactly_once: offsets of input records whose output the broker refused, skipped when read again. */
  poison: Set<number> | null = null;
  /** False from a revoke until the partition is assigned again: its records are not ours to hand over. */
  private owned = true;
  /** Batches numbered up to this were taken before the last revoke: their records of this partition are stale. */
  private revokedAfter = 0;
  /**
   * After a rewind: the offset the partition continues from. Batches taken from the client before
   * the seek took effect (numbered up to `fence`) may still carry records fetched before it, past
   * this offset: those are dropped until this offset comes again.
   */
  private resumeAt = -1;
  private fence = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  reset(): void {
    this.epoch++;
    this.entries = [];
    this.committable = -1;
    this.committed = -1;
    this.resumeAt = -1;
    this.poison = null;
  }

  /** Taken away by a rebalance; `lastBatch`: the last batch the client returned before. */
  revoke(lastBatch: number): void {
    this.reset();
    this.owned = false;
    this.revokedAfter = lastBatch;
  }

  assign(): void {
    this.reset();
    this.owned = true;
  }

  /** Rewound to `offset` (a seek is under way): receipts of older entries are ignored. */
  rewind(offset: number): void {
    this.epoch++;
    this.entries = [];
    // Nothing past the rewound offset counts as settled any more (an aborted transaction had settled records past it).
    this.committable = Math.min(this.committable, offset);
    this.resumeAt = offset;
    this.fence = Infinity;
  }

  /** The seek took effect: batches numbered after `lastBatch` come from the new position. */
  sought(lastBatch: number): void {
    this.fence = lastBatch;
  }

  /** Whether a record of batch number `batch` is to be handed over (false: a leftover from before a revoke or rewind). */
  admits(offset: number, batch: number): boolean {
    if (!this.owned || batch <= this.revokedAfter) return false;
    if (this.resumeAt < 0) return true;
    if (batch <= this.fence && offset > this.resumeAt) return false;
    this.resumeAt = -1;
    return true;
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

/** The tracks of a consumer's partitions, by topic and partition. */
export class PartitionTracks {
  private readonly byKey = new Map<string, PartitionTrack>();

  get(topic: string, partition: number): PartitionTrack {
    const key = `${topic}\u0000${partition}`;
    let track = this.byKey.get(key);
    if (track === undefined) {
      track = new PartitionTrack(topic, partition);
      this.byKey.set(key, track);
    }
    return track;
  }

  values(): IterableIterator<PartitionTrack> {
    return this.byKey.values();
  }

  /** The committed offset of each partition that has one (no client call: cheap enough to poll). */
  committed(): KafkaCommit[] {
    const out: KafkaCommit[] = [];
    for (const t of this.byKey.values()) if (t.committed >= 0) out.push({ topic: t.topic, partition: t.partition, offset: t.committed });
    return out;
  }
}

/** Per partition, the offset to commit: after the highest contiguous settled record, where that moved since the last commit. */
export function committableOffsets(tracks: Iterable<PartitionTrack>): KafkaCommit[] {
  const offsets: KafkaCommit[] = [];
  for (const t of tracks) if (t.committable > t.committed) offsets.push({ topic: t.topic, partition: t.partition, offset: t.committable });
  return offsets;
}
