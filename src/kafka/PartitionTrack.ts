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
}
