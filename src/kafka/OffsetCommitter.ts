import { toError, type Logger } from "../core/index.js";
import type { KafkaCommit, KafkaConsumerClient } from "./KafkaConnection.js";
import { committableOffsets, type PartitionTracks } from "./PartitionTrack.js";
import type { StateChangelog } from "./stateChangelog.js";

/**
 * A KafkaSource's at-least-once commits: per partition, the offset after the highest contiguous
 * settled record. Commits are serialised (a slow one is never overtaken by the next), a partition
 * rewound or revoked meanwhile keeps its own offset, and with partitioned state only offsets whose
 * checkpoint is written are committed. A failure is warned about once per kind and retried at the
 * next tick. (exactly_once commits in its transactions instead: ExactlyOnce.)
 */
export class OffsetCommitter {
  commits = 0;
  private chain: Promise<void> = Promise.resolve();
  private lastError = "";

  constructor(
    private readonly tracks: PartitionTracks,
    private readonly consumer: () => KafkaConsumerClient | null,
    private readonly state: StateChangelog | null,
    private readonly log: Logger,
    private readonly clientError: (error: Error) => void,
  ) {}

  /** Commits what is settled, after any commit still running. */
  commitSettled(): Promise<void> {
    this.chain = this.chain.then(() => this.commitNow());
    return this.chain;
  }

  /** Synchronously, while the partitions are still ours: a rebalance waits for it. */
  commitBeforeRebalance(offsets: KafkaCommit[]): void {
    const consumer = this.consumer();
    if (offsets.length === 0 || consumer === null) return;
    try {
      consumer.commitNow(offsets);
      this.commits++;
    } catch (e) {
      this.clientError(new Error(`commit before the rebalance failed: ${toError(e).message}`));
    }
  }

  private async commitNow(): Promise<void> {
    const consumer = this.consumer();
    if (consumer === null) return;
    const tracks = [...this.tracks.values()].filter((t) => t.committable > t.committed);
    if (tracks.length === 0) return;
    const epochs = tracks.map((t) => t.epoch);
    try {
      const offsets = this.state?.active ? await this.state.checkpoint(tracks) : committableOffsets(tracks);
      if (offsets.length === 0) return;
      await consumer.commit(offsets);
      this.commits++;
      for (const o of offsets) {
        const i = tracks.findIndex((t) => t.topic === o.topic && t.partition === o.partition);
        if (i >= 0 && tracks[i]!.epoch === epochs[i]) tracks[i]!.committed = Math.max(tracks[i]!.committed, o.offset);
      }
      this.lastError = "";
    } catch (e) {
      const message = toError(e).message;
      // Once per kind of failure, not on every tick (a restarted broker can take a while).
      if (message !== this.lastError) this.log.warn("Committing offsets failed; will retry", { error: message });
      this.lastError = message;
    }
  }
}
