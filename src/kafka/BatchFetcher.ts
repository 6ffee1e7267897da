import { toError } from "../core/index.js";
import type { KafkaConsumerClient, KafkaRecord } from "./client.js";

/** Records as one consume() returned them, numbered in the order taken; `start`: the first not handed over yet. */
export interface Batch {
  records: KafkaRecord[];
  number: number;
  start: number;
}

/**
 * A KafkaSource's reading from its client: one consume() in flight at a time, never two, so
 * batches stay in order; the next batch is fetched (in the client's thread) while one is handed
 * over. Batches are numbered so that records fetched before a partition was rewound or revoked
 * can be told apart (PartitionTrack.admits).
 */
export class BatchFetcher {
  /** Batches taken from the client, in order, not handed over yet (the next one, or the pipeline stopped being ready). */
  readonly held: Batch[] = [];
  /** The last fetch's failure, until the source reports it. */
  error: Error | null = null;
  private fetching: Promise<void> | null = null;
  private batches = 0;

  constructor(
    private readonly consumer: () => KafkaConsumerClient,
    private readonly batchMax: number,
  ) {}

  /** Takes the next batch from the client into `held`, unless a consume() is in flight already. */
  fetch(timeoutMs: number): Promise<void> {
    if (this.fetching !== null) return this.fetching;
    const number = ++this.batches;
    this.fetching = this.consumer()
      .consume(this.batchMax, timeoutMs)
      .then(
        (records) => {
          this.fetching = null;
          if (records.length > 0) this.held.push({ records, number, start: 0 });
        },
        (e: unknown) => {
          this.fetching = null;
          this.error = toError(e);
        },
      );
    return this.fetching;
  }

  /** The number of the last batch the client handed back (a consume() in flight has not). */
  get lastTaken(): number {
    return this.batches - (this.fetching === null ? 0 : 1);
  }

  /** The number of the last batch asked for. */
  get lastAsked(): number {
    return this.batches;
  }

  /** Resolves when no consume() is in flight. */
  async idle(): Promise<void> {
    await this.fetching;
  }
}
