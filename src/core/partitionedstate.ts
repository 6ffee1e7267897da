import type { EventContext } from "./context.js";

/*
 * State kept per input partition, which moves with the partition between pump processes (issue 15
 * item 4). The contract is here, in core, so that a processor family (analyzer) and a source
 * family (kafka) meet without importing each other: the source offers a PartitionedStateHost on
 * its pipeline, a stateful processor registers a PartitionedState with it.
 */

/** A component's state, one part per input partition. */
export interface PartitionedState {
  /** Unique in the application and stable across restarts: names this state in a checkpoint. */
  readonly stateName: string;
  /**
   * The state of one partition as bytes (null: nothing kept). The host calls it only when every
   * event of that partition handed to the pipeline so far has settled, so the state holds exactly
   * the input before the offset it is checkpointed with.
   */
  snapshot(partition: string): Uint8Array | null;
  /**
   * Before the first event of a partition is handed over (and after a rewind): the state to go on
   * from (null: none, start afresh). Replaces whatever was kept for the partition.
   */
  restore(partition: string, state: Uint8Array | null): void;
  /** The partition went to another process (which restores it from the checkpoint): forget it. */
  release(partition: string): void;
}

/** What a source that checkpoints per partition offers on its pipeline (`pipeline.partitionedState`). */
export interface PartitionedStateHost {
  /** The partition an event came from (its context), as the name snapshot()/restore() use; null when not from this source. */
  partitionOf(context: EventContext): string | null;
  register(state: PartitionedState): void;
}
