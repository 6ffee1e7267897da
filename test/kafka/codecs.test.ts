// @services kafka
/**
 * Every codec, both ways, against Kafka's own console tools: records the console producer wrote
 * compressed with gzip, snappy, lz4 and zstd are all read by KafkaSource; records KafkaSink wrote
 * with each codec are all read back by the console consumer. The broker's log dump shows that the
 * stored batches really carry that codec.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Pipeline } from "../../src/core/index.js";
import { KafkaSink, KafkaSource } from "../../src/kafka/index.js";
import { BatchSource, CollectSink } from "../helpers/components.js";
import { createTopic, makeApp, unique, until, register } from "./helpers.js";
import { consoleConsume, consoleProduce, storedCodecs } from "./tools.js";

const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
const N = 1000;

test("KafkaSource reads batches the console producer compressed with each codec", { timeout: 240_000 }, async () => {
  const topic = unique("codec-in");
  await createTopic(topic, 1);
  const expected: string[] = [];
  for (const codec of CODECS) {
    const lines = Array.from({ length: N }, (_, i) => `${codec}-${i}-${"x".repeat(i % 50)}`);
    await consoleProduce(topic, lines, codec);
    expected.push(...lines);
  }
  assert.deepEqual([...(await storedCodecs(topic))].sort(), [...CODECS].sort(), "the broker stored batches of every codec");

  const app = makeApp(`[pipeline:C:KafkaSource]\ntopic = ${topic}\ngroup_id = ${unique("codec-group")}\n`);
  const pipeline = new Pipeline(app, "C");
  const sink = new CollectSink(app, pipeline);
  register(pipeline, new KafkaSource(app, pipeline, "Kafka"), sink);
  const run = app.run();
  await until(() => sink.events.length >= expected.length, 60_000, "every record read");
  app.stop();
  assert.equal(await run, 0);
  assert.deepEqual(sink.events.map((v) => (v as Buffer).toString()), expected, "every record, in order, none twice");
});

test("KafkaSink writes each codec; the console consumer reads every record back", { timeout: 240_000 }, async () => {
  for (const codec of CODECS) {
    const topic = unique(`codec-out-${codec}`);
    await createTopic(topic, 1);
    const lines = Array.from({ length: N }, (_, i) => `${codec}-${i}-${"y".repeat(i % 50)}`);
    const app = makeApp(`[pipeline:W:KafkaSink]\ntopic = ${topic}\ncompression.type = ${codec}\nlinger.ms = 20\n`);
    const pipeline = new Pipeline(app, "W");
    const sink = new KafkaSink(app, pipeline, "Kafka");
    const source = new BatchSource(app, pipeline);
    source.events = lines.map((l) => Buffer.from(l));
    source.batchSize = 100;
    register(pipeline, source, sink);
    const run = app.run();
    await until(() => sink.delivered >= N, 60_000, `${codec}: every record delivered`);
    app.stop();
    assert.equal(await run, 0);
    assert.equal(sink.failed, 0);
    assert.ok(source.batches.every((b) => b.error === null && b.settled === b.size), `${codec}: every receipt settled`);
    assert.deepEqual(await storedCodecs(topic), new Set([codec]), `${codec}: the stored batches carry the codec`);
    assert.deepEqual(await consoleConsume(topic, N), lines, `${codec}: the console consumer reads every record`);
  }
});
