import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachReport, unpackRecords, type PackedMessages } from "../../src/kafka/rdkafkaPacked.js";
import type { RdError, RdMessage } from "../../src/kafka/rdkafkaModule.js";

/** A packed batch as the patched binding makes it (Workers::KafkaConsumerConsumeNum::PackedMessages). */
function pack(records: { topic: string; partition: number; offset: number; timestamp: number; value: string | null; key: string | null; headers?: Record<string, Buffer>[] }[]): PackedMessages {
  const parts: Buffer[] = [];
  const table: number[] = [];
  let at = 0;
  const place = (s: string | null): [number, number] => {
    if (s === null) return [0, -1];
    const b = Buffer.from(s);
    parts.push(b);
    at += b.length;
    return [at - b.length, b.length];
  };
  for (const r of records) table.push(r.partition, r.offset, r.timestamp, ...place(r.value), ...place(r.key));
  return { data: Buffer.concat(parts), table: new Float64Array(table), topics: records.map((r) => r.topic), headers: records.map((r) => r.headers) };
}

test("packed records: values, keys, nulls, topics, offsets, timestamps and headers as the stock records have them", () => {
  const records = unpackRecords(
    pack([
      { topic: "a", partition: 2, offset: 2 ** 40, timestamp: 1_796_000_000_123, value: "{\"n\": 1}", key: "k1" },
      { topic: "a", partition: 0, offset: 7, timestamp: -1, value: null, key: null },
      { topic: "b", partition: 1, offset: 0, timestamp: 5, value: "", key: "é", headers: [{ id: Buffer.from("x") }, { id: Buffer.from([0, 255]) }] },
    ]),
  );
  assert.deepEqual(
    records.map((r) => [r.topic, r.partition, r.offset, r.timestamp, r.value?.toString() ?? null, r.key?.toString() ?? null]),
    [
      ["a", 2, 2 ** 40, 1_796_000_000_123, "{\"n\": 1}", "k1"],
      ["a", 0, 7, -1, null, null],
      ["b", 1, 0, 5, "", "é"],
    ],
  );
  assert.equal(records[0]!.headers, undefined);
  assert.deepEqual(records[2]!.headers, [["id", Buffer.from("x")], ["id", Buffer.from([0, 255])]]);
  assert.deepEqual(unpackRecords(pack([])), []);
});

test("stock records (an unpatched binding): string keys become Buffers, headers BSPump's pairs", () => {
  const stock: RdMessage[] = [{ topic: "t", partition: 0, offset: 1, value: Buffer.from("v"), key: "k", headers: [{ h: "1" }] }];
  const [r] = unpackRecords(stock);
  assert.deepEqual(r!.key, Buffer.from("k"));
  assert.deepEqual(r!.headers, [["h", Buffer.from("1")]]);
});

test("delivery report runs: one call per record, in order, with the run's error and token", () => {
  const refused = Object.assign(new Error("Broker: Message size too large"), { code: 10 }) as RdError;
  const token = { id: 1 };
  const seen: [string | null, unknown, string, number][] = [];
  const each = (error: Error | null, opaque: unknown, topic: string, partition: number): void => void seen.push([error?.message ?? null, opaque, topic, partition]);
  forEachReport(["t", 0, 0, 3, undefined, "t", 1, refused, 2, undefined, "u", 0, 0, 1, token], null, each);
  const refusedMessage = "Kafka delivery: Broker: Message size too large (code 10)";
  assert.deepEqual(seen, [
    [null, undefined, "t", 0],
    [null, undefined, "t", 0],
    [null, undefined, "t", 0],
    [refusedMessage, undefined, "t", 1],
    [refusedMessage, undefined, "t", 1],
    [null, token, "u", 0],
  ]);
  // A stock report (an unpatched binding under the patched library): one record, its own error.
  seen.length = 0;
  forEachReport({ topic: "t", partition: 2, opaque: token }, refused, each);
  forEachReport({ topic: "t", partition: 2 }, null, each);
  assert.deepEqual(seen, [
    [refusedMessage, token, "t", 2],
    [null, undefined, "t", 2],
  ]);
});
