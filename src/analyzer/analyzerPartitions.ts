import { ConfigError, type EventContext, type PartitionedState, type PartitionedStateHost } from "../core/index.js";
import type { Matrix } from "../matrix/Matrix.js";
import type { Analyzer } from "./Analyzer.js";

/** Config key of the analyzers that can keep their state per input partition. */
export const PARTITIONED_CONFIG = {
  partitioned: {
    type: "bool",
    default: false,
    doc: "Keep the state per input partition (keyed by the Kafka key, a key's partition decides where it lives): one window state per partition, with its own event time, checkpointed and restored with the partition by the pipeline's source (KafkaSource `state_topic`), so it follows the partition to another pump. No flush on stop: open windows stay in the checkpoint",
  },
} as const;

/**
 * A partitioned analyzer's state (`partitioned = true`): one analyzer of the same class per input
 * partition, each with its own matrix and event time, made on the partition's first event or its
 * restore. Registered with the pipeline's PartitionedStateHost, which snapshots a part when its
 * partition is checkpointed and restores it (from the matrix's snapshot) when the partition is
 * assigned. Each partition keeps its own event time (as a Kafka Streams task): the windows it
 * closes depend only on the records of that partition, in their order, so they are the same in
 * whichever process the partition is read.
 */
export class AnalyzerPartitions<A extends Analyzer> implements PartitionedState {
  readonly stateName: string;
  private readonly parts = new Map<string, A>();
  private host: PartitionedStateHost | null = null;
  /** The part of the last event (the events of one partition come in runs). */
  private lastName: string | null = null;
  private lastPart: A | null = null;

  constructor(
    private readonly owner: Analyzer,
    /** Makes the part of a partition: a new analyzer whose matrix holds `state` (a snapshot) or nothing. */
    private readonly make: (name: string, state: Uint8Array | null) => A,
    private readonly matrixOf: (part: A) => Matrix,
  ) {
    this.stateName = `${owner.pipeline.id}.${owner.id}`;
  }

  /** Registers with the pipeline's source (at start: the source may be added after the processors). */
  attach(): void {
    if (this.host !== null) return;
    const host = this.owner.pipeline.partitionedState;
    if (host === null) {
      throw new ConfigError(`[pipeline:${this.owner.pipeline.id}:${this.owner.id}] partitioned = true needs a source that checkpoints per partition (KafkaSource with state_topic)`);
    }
    host.register(this);
    this.host = host;
  }

  /** The part the event's partition has (made when new). */
  partFor(context: EventContext): A {
    const name = this.host?.partitionOf(context) ?? "";
    if (name === this.lastName) return this.lastPart!;
    let part = this.parts.get(name);
    if (part === undefined) this.parts.set(name, (part = this.make(name, null)));
    this.lastName = name;
    this.lastPart = part;
    return part;
  }

  /** The parts by partition name. */
  entries(): IterableIterator<[string, A]> {
    return this.parts.entries();
  }

  snapshot(partition: string): Uint8Array | null {
    const part = this.parts.get(partition);
    return part === undefined ? null : this.matrixOf(part).snapshot();
  }

  restore(partition: string, state: Uint8Array | null): void {
    this.forget(partition);
    if (state !== null) this.parts.set(partition, this.make(partition, state));
  }

  release(partition: string): void {
    this.forget(partition);
  }

  private forget(partition: string): void {
    this.parts.delete(partition);
    if (this.lastName === partition) {
      this.lastName = null;
      this.lastPart = null;
    }
  }
}
