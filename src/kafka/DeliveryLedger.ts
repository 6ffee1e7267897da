import { crc32 } from "node:zlib";
import type { Receipt } from "../core/index.js";

/** Records in a row of one partition under the same receipt. */
interface Run {
  receipt: Receipt | undefined;
  count: number;
}

/** A partition's runs in production order; `head` is the first not fully reported. */
interface PartitionRuns {
  runs: Run[];
  head: number;
}

/** Keyless records stay on one partition for this many, then move on (librdkafka's sticky partitioner does alike by time). */
const KEYLESS_RUN = 1000;

/**
 * Which receipt each delivery report settles, without a token per record. Handing librdkafka a
 * token (its `opaque`) costs a V8 persistent handle per record — created, scanned by every
 * scavenge while queued, destroyed with the report: ~15 % of a produce-bound pipeline, measured
 * (docs/kafka.md). The idempotent producer reports each partition's records in the order they
 * were produced, so the sink chooses the partition itself — as librdkafka's default
 * `consistent_random` partitioner would: CRC-32 of the key modulo the partition count, keyless
 * records spread — and keeps per partition the receipts of its records in order.
 *
 * Only for one producer: a new producer gets a new ledger (its reports may overtake the old one's).
 */
export class DeliveryLedger {
  private readonly partitions = new Map<string, number>();
  private readonly byTopic = new Map<string, PartitionRuns[]>();
  private keyless = 0;

  /** Whether librdkafka's settings let the ledger stand in for tokens (order and partitioner as assumed above). */
  static usable(idempotent: boolean, partitioner: string | undefined): boolean {
    return idempotent && (partitioner === undefined || partitioner === "consistent_random") && typeof crc32 === "function";
  }

  /** The topic's partition count, once known (0: not known; such records go with a token). */
  partitionsOf(topic: string): number {
    return this.partitions.get(topic) ?? 0;
  }

  topics(): string[] {
    return [...this.partitions.keys()];
  }

  setPartitions(topic: string, count: number): void {
    if (count <= 0) return;
    const runs = this.byTopic.get(topic) ?? [];
    // Partitions are only ever added to a topic; the runs of the old ones stay.
    while (runs.length < count) runs.push({ runs: [], head: 0 });
    this.byTopic.set(topic, runs);
    this.partitions.set(topic, count);
  }

  /** The partition for a record of `topic` (whose partition count is known) with this key. */
  choose(topic: string, key: Buffer | string | null, count: number): number {
    if (key !== null) return crc32(key) % count;
    return Math.floor(this.keyless++ / KEYLESS_RUN) % count;
  }

  /** A record was queued to `partition` under `receipt`. */
  add(topic: string, partition: number, receipt: Receipt | undefined): void {
    const p = this.byTopic.get(topic)![partition]!;
    const last = p.runs.length > p.head ? p.runs[p.runs.length - 1]! : undefined;
    if (last !== undefined && last.receipt === receipt) last.count++;
    else p.runs.push({ receipt, count: 1 });
  }

  /** The receipt of the next record reported for this partition (undefined: none, or none tracked). */
  take(topic: string, partition: number): Receipt | undefined {
    const p = this.byTopic.get(topic)?.[partition];
    if (p === undefined || p.head >= p.runs.length) return undefined;
    const run = p.runs[p.head]!;
    if (--run.count === 0) {
      p.head++;
      // Drop the reported runs now and then, not on every report.
      if (p.head === p.runs.length) {
        p.runs = [];
        p.head = 0;
      } else if (p.head >= 1024) {
        p.runs = p.runs.slice(p.head);
        p.head = 0;
      }
    }
    return run.receipt;
  }
}
