import type { KafkaHeaderList, KafkaRecord } from "./client.js";
import { asError, type RdError, type RdMessage } from "./rdkafkaModule.js";

/*
 * The two batch forms the project's patch of the client adds (src/kafka/kafka-javascript.patch):
 * consumed records as one buffer and one table, and delivery reports as runs. The stock client
 * makes a V8 object per record in C++ (value copied into a buffer of its own, eight properties set
 * through the API) and calls into JavaScript once per delivery report: about a third of the main
 * thread in K1 (bench/NOTES.md). An unpatched build answers in the stock forms; both are handled.
 */

/** Consumed records in the packed form (Workers::KafkaConsumerConsumeNum::PackedMessages). */
export interface PackedMessages {
  /** Every value and key, back to back. */
  data: Buffer;
  /** Seven numbers per record: partition, offset, timestamp, value start, value length (-1: null), key start, key length (-1: null). */
  table: Float64Array;
  topics: string[];
  /** Headers of the records that have them, by record index (librdkafka's form). */
  headers: (Record<string, Buffer | string>[] | undefined)[];
}

/** One consumed record: every field set, in one order, so the pipeline's code sees one shape. */
interface PackedRecord extends KafkaRecord {
  readonly key: Buffer | null;
  readonly timestamp: number;
  readonly headers: KafkaHeaderList | undefined;
}

export function unpackRecords(packed: PackedMessages | RdMessage[]): KafkaRecord[] {
  if (Array.isArray(packed)) return normalise(packed);
  const { data, table, topics, headers } = packed;
  const count = topics.length;
  const records = new Array<PackedRecord>(count);
  for (let i = 0, row = 0; i < count; i++, row += 7) {
    const valueLength = table[row + 4]!;
    const keyLength = table[row + 6]!;
    const valueStart = table[row + 3]!;
    const keyStart = table[row + 5]!;
    const h = headers[i];
    records[i] = {
      topic: topics[i]!,
      partition: table[row]!,
      offset: table[row + 1]!,
      timestamp: table[row + 2]!,
      value: valueLength < 0 ? null : data.subarray(valueStart, valueStart + valueLength),
      key: keyLength < 0 ? null : data.subarray(keyStart, keyStart + keyLength),
      headers: h === undefined ? undefined : headerList(h),
    };
  }
  return records;
}

/** The stock form: the client's message objects are the records, only the rare fields normalised in place. */
function normalise(messages: RdMessage[]): KafkaRecord[] {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (typeof m.key === "string") m.key = Buffer.from(m.key);
    if (m.headers !== undefined) m.headers = headerList(m.headers);
  }
  return messages as (RdMessage & KafkaRecord)[];
}

/** A stock delivery report, as the unpatched client passes it. */
export interface RdReport {
  topic: string;
  partition: number;
  opaque?: unknown;
}

/**
 * Delivery reports in runs (DeliveryReportDispatcher::FlushRuns): five entries per run — topic,
 * partition, error (0: delivered), count, opaque — handed to `each` once per record, in
 * librdkafka's order; or one stock report with its error.
 */
export function forEachReport(
  runs: unknown[] | RdReport,
  stockError: RdError | null | undefined,
  each: (error: Error | null, opaque: unknown, topic: string, partition: number) => void,
): void {
  if (!Array.isArray(runs)) {
    each(stockError ? asError(stockError, "Kafka delivery") : null, runs.opaque, runs.topic, runs.partition);
    return;
  }
  for (let i = 0; i < runs.length; i += 5) {
    const topic = runs[i] as string;
    const partition = runs[i + 1] as number;
    const failure = runs[i + 2] as 0 | RdError;
    const opaque = runs[i + 4];
    const error = failure === 0 ? null : asError(failure, "Kafka delivery");
    for (let n = runs[i + 3] as number; n > 0; n--) each(error, opaque, topic, partition);
  }
}

/** librdkafka's record headers (one object per header) → BSPump's list of pairs. */
function headerList(headers: Record<string, Buffer | string>[] | KafkaHeaderList): KafkaHeaderList {
  const out: KafkaHeaderList = [];
  for (const h of headers as Record<string, Buffer | string>[]) for (const name in h) out.push([name, Buffer.isBuffer(h[name]) ? (h[name] as Buffer) : Buffer.from(h[name] as string)]);
  return out;
}
