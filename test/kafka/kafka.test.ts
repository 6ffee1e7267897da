// @services kafka
import assert from "node:assert/strict";
import { test } from "node:test";
import { Pipeline, Processor, Receipt, Sink, type EventContext } from "../../src/core/index.js";
import { DictToJsonBytesParser, StdJsonToDictParser } from "../../src/common/index.js";
import { KafkaSink, KafkaSource } from "../../src/kafka/index.js";
import { patched, rdkafka } from "../../src/kafka/rdkafkaModule.js";
import { BatchSource } from "../helpers/components.js";
import { committed, createTopic, latest, makeApp, produce, readAll, unique, until, register } from "./helpers.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

test("the Kafka client carries the project's patch (scripts/build-native built it): the batch forms are in use", () => {
  assert.equal(patched(rdkafka()), true);
});

// Both forms of records and delivery reports: the patch's batch forms, and the stock client's.
for (const form of ["patched", "stock"] as const) test(`round trip (${form} client forms): keys, headers and values survive Kafka → pump → Kafka; offsets committed to the end`, async (t) => {
  if (form === "stock") process.env.BSPUMP_KAFKA_PATCH = "off";
  else delete process.env.BSPUMP_KAFKA_PATCH;
  // The next tests use the patched forms, also when an assertion of this one fails.
  t.after(() => delete process.env.BSPUMP_KAFKA_PATCH);
  assert.equal(patched(rdkafka()), form === "patched");
  const input = unique("rt-in");
  const output = unique("rt-out");
  const group = unique("rt-group");
  await createTopic(input, 3);
  await createTopic(output, 3);
  const n = 3000;
  const messages = Array.from({ length: n }, (_, i) => ({
    key: i % 7 === 0 ? null : `k${i}`,
    value: `value-${i}`,
    headers: i % 2 === 0 ? { id: String(i), kind: Buffer.from([0, 255, i % 256]) } : undefined,
  }));
  await produce(input, messages);

  const app = makeApp(`[pipeline:RT:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\n[pipeline:RT:KafkaSink]\ntopic = ${output}\nlinger.ms = 20\n`);
  const pipeline = new Pipeline(app, "RT");
  const sink = new KafkaSink(app, pipeline, "Kafka");
  register(pipeline, new KafkaSource(app, pipeline, "Kafka"), sink);
  const run = app.run();
  await until(() => sink.delivered >= n, 60000, "all records delivered");
  app.stop();
  assert.equal(await run, 0);
  assert.equal(sink.failed, 0);
  assert.equal(pipeline.eventIn, n);

  const got = await readAll(output, n);
  assert.equal(got.length, n);
  const byValue = new Map(got.map((r) => [r.value!.toString(), r]));
  for (let i = 0; i < n; i++) {
    const r = byValue.get(`value-${i}`);
    assert.ok(r, `value-${i} missing`);
    const want = messages[i]!;
    assert.equal(r.key === null ? null : r.key.toString(), want.key);
    if (want.headers) {
      assert.equal(r.headers.id!.toString(), String(i));
      assert.deepEqual([...(r.headers.kind as Buffer)], [0, 255, i % 256]);
    } else assert.deepEqual(r.headers, {});
  }
  // Same key → same partition on both sides (the default partitioner hashes the key).
  const commits = await committed(group, input);
  const ends = await latest(input);
  assert.deepEqual(commits, ends);
});

/** A sink that writes nothing, settles the first `settleFirst` events, holds the rest and fails them on stop. */
class HoldingSink extends Sink {
  override readonly settlesReceipts = true;
  settleFirst = 0;
  seen: { partition: number; offset: number; receipt: Receipt }[] = [];
  private held: Receipt[] = [];
  process(context: EventContext, _event: unknown): null {
    const receipt = context.receipt!;
    this.seen.push({ partition: context._kafka_partition as number, offset: context._kafka_offset as number, receipt });
    if (this.seen.length <= this.settleFirst) receipt.settle();
    else this.held.push(receipt);
    return null;
  }
  override async stop(): Promise<void> {
    for (const r of this.held) r.fail(new Error("not written"));
    this.held = [];
  }
}

class FirstOffsetSink extends Sink {
  first = new Map<number, number>();
  count = 0;
  process(context: EventContext): null {
    const p = context._kafka_partition as number;
    if (!this.first.has(p)) this.first.set(p, context._kafka_offset as number);
    this.count++;
    return null;
  }
}

test("graceful stop commits exactly the settled prefix; a restart resumes there", async () => {
  const topic = unique("gs");
  const group = unique("gs-group");
  await createTopic(topic, 2);
  const n = 6000;
  // Small sends: the broker returns whole record batches, so these make small fetch batches.
  await produce(topic, Array.from({ length: n }, (_, i) => ({ value: `v${i}`, partition: i % 2 })), 100);

  const ini = `[pipeline:GS:KafkaSource]\ntopic = ${topic}\ngroup_id = ${group}\nmax_partition_fetch_bytes = 2000\n`;
  const app = makeApp(ini);
  const pipeline = new Pipeline(app, "GS");
  const sink = new HoldingSink(app, pipeline);
  sink.settleFirst = 2500;
  register(pipeline, new KafkaSource(app, pipeline, "Kafka"), sink);
  const run = app.run();
  await until(() => sink.seen.length >= 4000, 60000, "records consumed");
  app.stop();
  assert.equal(await run, 0);

  // Expected commit per partition: after the last record of the prefix whose receipts all completed without error.
  const expected = new Map<number, number>();
  for (const p of [0, 1]) {
    const records = sink.seen.filter((s) => s.partition === p).sort((a, b) => a.offset - b.offset);
    let next = -1;
    for (const r of records) {
      if (!(r.receipt.done && r.receipt.error === null)) break;
      next = r.offset + 1;
    }
    expected.set(p, next);
  }
  assert.ok([...expected.values()].some((v) => v > 0), "something was settled");
  const got = await committed(group, topic);
  assert.deepEqual(got, expected);

  // Restart in the same group: consumption resumes exactly at the committed offsets.
  const app2 = makeApp(ini);
  const pipeline2 = new Pipeline(app2, "GS");
  const sink2 = new FirstOffsetSink(app2, pipeline2);
  register(pipeline2, new KafkaSource(app2, pipeline2, "Kafka"), sink2);
  const run2 = app2.run();
  const remaining = [...expected.values()].reduce((s, v) => s + (n / 2 - Math.max(0, v)), 0);
  await until(() => sink2.count >= remaining, 60000, "the rest consumed");
  app2.stop();
  assert.equal(await run2, 0);
  assert.equal(sink2.count, remaining);
  for (const [p, v] of expected) if (v > 0 && v < n / 2) assert.equal(sink2.first.get(p), v);
  assert.deepEqual(await committed(group, topic), await latest(topic));
});

/** Settles `rate` events per 100 ms; throttles the pipeline above `high` buffered events. */
class SlowSink extends Sink {
  override readonly settlesReceipts = true;
  private queue: Receipt[] = [];
  private timer: NodeJS.Timeout | null = null;
  private throttled = false;
  maxQueued = 0;
  settled = 0;
  constructor(app: ConstructorParameters<typeof Sink>[0], pipeline: Pipeline, readonly high: number, readonly low: number, readonly perTick: number) {
    super(app, pipeline);
  }
  override start(): void {
    this.timer = setInterval(() => this.tick(), 100);
  }
  private tick(): void {
    const batch = this.queue.splice(0, this.perTick);
    for (const r of batch) r.settle();
    this.settled += batch.length;
    if (this.throttled && this.queue.length <= this.low) {
      this.throttled = false;
      this.pipeline.throttle(this, false);
    }
  }
  process(context: EventContext): null {
    this.queue.push(context.receipt!);
    if (this.queue.length > this.maxQueued) this.maxQueued = this.queue.length;
    if (!this.throttled && this.queue.length > this.high) {
      this.throttled = true;
      this.pipeline.throttle(this, true);
    }
    return null;
  }
  override async stop(): Promise<void> {
    while (this.queue.length) await new Promise((r) => setTimeout(r, 20));
    clearInterval(this.timer!);
  }
}

test("a throttled pipeline pauses consumption: in-flight events stay bounded, nothing is lost", async () => {
  const topic = unique("thr");
  const group = unique("thr-group");
  await createTopic(topic, 3);
  const n = 12000;
  await produce(topic, Array.from({ length: n }, (_, i) => ({ value: `${i}`.padEnd(200, "x") })));
  const app = makeApp(`[pipeline:THR:KafkaSource]\ntopic = ${topic}\ngroup_id = ${group}\n`);
  const pipeline = new Pipeline(app, "THR");
  const source = new KafkaSource(app, pipeline, "Kafka");
  // The topic is read far faster than 20,000 events/s; the sink takes 200 per 100 ms, so each
  // throttle lasts about half a second: long enough for the source to pause the consumer.
  const sink = new SlowSink(app, pipeline, 2000, 1000, 200);
  register(pipeline, source, sink);
  let pausedSeen = false;
  const watch = setInterval(() => {
    if ((source.describe() as { Paused: boolean }).Paused) pausedSeen = true;
  }, 10);
  const run = app.run();
  await until(() => sink.settled >= n, 90000, "all events settled");
  clearInterval(watch);
  app.stop();
  assert.equal(await run, 0);
  assert.equal(sink.settled, n);
  assert.equal(source.recordsIn, n);
  // The source checks readiness before every record: at most one past the high-water mark.
  assert.ok(sink.maxQueued <= 2001, `max queued ${sink.maxQueued}`);
  assert.ok(pausedSeen, "the consumer was paused while the pipeline was throttled");
  assert.deepEqual(await committed(group, topic), await latest(topic));
});

class AddField extends Processor {
  process(_context: EventContext, event: unknown): unknown {
    (event as Record<string, unknown>).seen = true;
    return event;
  }
}

class DeadLetterToJson extends Processor {
  process(_context: EventContext, event: unknown): unknown {
    const record = event as { error: { message: string }; event: unknown; component: string | null };
    const original = Buffer.isBuffer(record.event) ? record.event.toString("utf8") : record.event;
    return JSON.stringify({ component: record.component, error: record.error.message, event: original });
  }
}

test("a bad record goes to the dead-letter topic and does not block the partition", async () => {
  const input = unique("dl-in");
  const output = unique("dl-out");
  const dlq = unique("dl-dlq");
  const group = unique("dl-group");
  await createTopic(input, 1);
  const n = 500;
  const bad = new Set([10, 250, 499]);
  await produce(input, Array.from({ length: n }, (_, i) => ({ value: bad.has(i) ? `{not json ${i}` : JSON.stringify({ i }) })));

  const app = makeApp(
    `[pipeline:Main]\ndead_letter = DLQ\n[pipeline:Main:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\n` +
      `[pipeline:Main:KafkaSink]\ntopic = ${output}\nlinger.ms = 20\n[pipeline:DLQ:KafkaSink]\ntopic = ${dlq}\nlinger.ms = 20\n`,
  );
  const main = new Pipeline(app, "Main");
  const out = new KafkaSink(app, main, "Kafka");
  main.build(new KafkaSource(app, main, "Kafka"), new StdJsonToDictParser(app, main), new AddField(app, main), new DictToJsonBytesParser(app, main), out);
  const dead = new Pipeline(app, "DLQ");
  const dlqSink = new KafkaSink(app, dead, "Kafka");
  dead.build([], new DeadLetterToJson(app, dead), dlqSink);
  app.pumpService.addPipeline(dead);
  app.pumpService.addPipeline(main);
  const run = app.run();
  await until(() => out.delivered + dlqSink.delivered >= n, 60000, "all records written");
  await until(async () => (await committed(group, input)).get(0) === n, 30000, "offsets committed to the end");
  app.stop();
  assert.equal(await run, 0);
  assert.equal(main.isError(), false);

  const good = await readAll(output, n - bad.size);
  assert.equal(good.length, n - bad.size);
  const values = good.map((r) => JSON.parse(r.value!.toString()) as { i: number; seen: boolean });
  assert.ok(values.every((v) => v.seen === true && !bad.has(v.i)));
  const dead3 = await readAll(dlq, bad.size);
  const deadEvents = dead3.map((r) => JSON.parse(r.value!.toString()) as { event: string; component: string });
  assert.deepEqual(deadEvents.map((d) => d.event).sort(), [...bad].map((i) => `{not json ${i}`).sort());
  assert.ok(deadEvents.every((d) => d.component === "StdJsonToDictParser"));
});

test("a send the broker refuses fails the receipts: nothing committed, pipeline in error, not counted as delivered", async () => {
  const input = unique("fail-in");
  const output = unique("fail-out");
  const group = unique("fail-group");
  await createTopic(input, 1);
  // A topic that takes no message over 1,000 bytes.
  const { kafka } = await import("./helpers.js");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: output, numPartitions: 1, configEntries: [{ name: "max.message.bytes", value: "1000" }] }], waitForLeaders: true });
  await admin.disconnect();
  await produce(input, Array.from({ length: 20 }, (_, i) => ({ value: `${i}:`.padEnd(5000, "x") })));

  const app = makeApp(`[pipeline:F:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\n[pipeline:F:KafkaSink]\ntopic = ${output}\nlinger.ms = 10\nretries = 1\n`);
  const pipeline = new Pipeline(app, "F");
  const sink = new KafkaSink(app, pipeline, "Kafka");
  const source = new KafkaSource(app, pipeline, "Kafka");
  register(pipeline, source, sink);
  const run = app.run();
  await until(() => pipeline.isError(), 60000, "the pipeline error");
  await source.commitSettled();
  app.stop();
  assert.equal(await run, 0);
  assert.equal(sink.delivered, 0);
  assert.equal(sink.failed, 20);
  assert.equal((await committed(group, input)).get(0), -1);
});

test("KafkaTopicInitializer creates missing topics with partitions and configs", async () => {
  const { KafkaTopicInitializer } = await import("../../src/kafka/index.js");
  const a = unique("init-a");
  const b = unique("init-b");
  const app = makeApp(`[pipeline:I:KafkaSource]\ntopic = ${b}\n`);
  const init = new KafkaTopicInitializer(app, "Kafka", { config: { num_partitions_default: 2 } });
  init.includeTopics({ topicConfig: { topic: a, num_partitions: 4, config: { "retention.ms": 3600000 } } });
  const pipeline = new Pipeline(app, "I");
  pipeline.build(new KafkaSource(app, pipeline, "Kafka"), new FirstOffsetSink(app, pipeline));
  init.includeTopics({ pipeline });
  assert.deepEqual((await init.initializeTopics()).sort(), [a, b].sort());
  assert.deepEqual(await init.initializeTopics(), [], "existing topics are left alone");
  assert.equal((await latest(a)).size, 4);
  assert.equal((await latest(b)).size, 2);
  const { kafka } = await import("./helpers.js");
  const admin = kafka.admin();
  await admin.connect();
  const described = await admin.describeConfigs({ resources: [{ type: 2, name: a, configNames: ["retention.ms"] }], includeSynonyms: false });
  await admin.disconnect();
  assert.equal(described.resources[0]!.configEntries[0]!.configValue, "3600000");
});

test("refresh_topics: a pattern subscription picks up a topic created while the pump runs", { timeout: 120_000 }, async () => {
  const prefix = unique("refresh").replace(/-/g, "_");
  const first = `${prefix}_a`;
  const later = `${prefix}_b`;
  await createTopic(first, 1);
  await produce(first, [{ value: "a0" }]);
  const app = makeApp(`[pipeline:R:KafkaSource]\ntopic = ^${prefix}_.*\ngroup_id = ${unique("refresh-group")}\nrefresh_topics = 1\n`);
  const pipeline = new Pipeline(app, "R");
  const sink = new FirstOffsetSink(app, pipeline);
  const values: string[] = [];
  pipeline.build(new KafkaSource(app, pipeline, "Kafka"), new (class extends Processor {
    process(context: EventContext, event: unknown): unknown {
      values.push(`${context._kafka_topic as string}:${(event as Buffer).toString()}`);
      return event;
    }
  })(app, pipeline), sink);
  app.pumpService.addPipeline(pipeline);
  const run = app.run();
  await until(() => values.length >= 1, 30_000, "the first topic's record");
  await createTopic(later, 2);
  await produce(later, [{ value: "b0" }, { value: "b1" }, { value: "b2" }]);
  await until(() => values.length >= 4, 60_000, "the new topic's records");
  app.stop();
  assert.equal(await run, 0);
  assert.deepEqual(values.sort(), [`${first}:a0`, `${later}:b0`, `${later}:b1`, `${later}:b2`]);
});

test("topic name:partition reads exactly that partition and commits it in the group", { timeout: 120_000 }, async () => {
  const topic = unique("pinned");
  const group = unique("pinned-group");
  await createTopic(topic, 3);
  await produce(topic, Array.from({ length: 300 }, (_, i) => ({ value: `v${i}`, partition: i % 3 })));
  const app = makeApp(`[pipeline:P:KafkaSource]\ntopic = ${topic}:1\ngroup_id = ${group}\nauto_commit_interval_ms = 100\n`);
  const pipeline = new Pipeline(app, "P");
  const sink = new FirstOffsetSink(app, pipeline);
  register(pipeline, new KafkaSource(app, pipeline, "Kafka"), sink);
  const run = app.run();
  await until(() => sink.count >= 100, 30_000, "partition 1's records");
  await new Promise((r) => setTimeout(r, 1000)); // nothing else may arrive
  app.stop();
  assert.equal(await run, 0);
  assert.equal(sink.count, 100);
  assert.deepEqual([...sink.first.keys()], [1]);
  assert.equal((await committed(group, topic)).get(1), 100);
});

/** Sets the record's key from the event ({ key, value }) and passes the value on. */
class KeyFromEvent extends Processor {
  process(context: EventContext, event: unknown): unknown {
    const { key, value } = event as { key: string | null; value: string };
    context.kafka_key = key;
    return value;
  }
}

test("KafkaSink puts each key where librdkafka's own partitioner does, and settles every receipt from its partition's reports", async () => {
  const ledgerTopic = unique("part-ledger");
  const tokenTopic = unique("part-token");
  await createTopic(ledgerTopic, 3);
  await createTopic(tokenTopic, 3);
  const n = 3000;
  const events = Array.from({ length: n }, (_, i) => ({ key: i % 10 === 0 ? null : `user-${i % 997}`, value: `v${i}` }));
  const run = async (topic: string, extra: string): Promise<{ sink: KafkaSink; source: BatchSource }> => {
    const app = makeApp(`[pipeline:P:KafkaSink]\ntopic = ${topic}\nlinger.ms = 5\n${extra}`);
    const pipeline = new Pipeline(app, "P");
    const source = new BatchSource(app, pipeline);
    source.events = events;
    source.batchSize = 70;
    const sink = new KafkaSink(app, pipeline, "Kafka");
    register(pipeline, source, new KeyFromEvent(app, pipeline), sink);
    const running = app.run();
    await until(() => source.completions === Math.ceil(n / 70), 60000, "every receipt settled");
    app.stop();
    assert.equal(await running, 0);
    return { sink, source };
  };
  // The default (idempotent) sink chooses partitions itself; without idempotence librdkafka chooses them (a token per record).
  const ledger = await run(ledgerTopic, "");
  const token = await run(tokenTopic, "enable.idempotence = false\nacks = 1\n");
  for (const { sink, source } of [ledger, token]) {
    assert.equal(sink.delivered, n);
    assert.ok(source.batches.every((b) => b.error === null && b.settled === b.size), "each receipt settled by its own records' reports");
  }
  const partitionOf = async (topic: string): Promise<Map<string, number>> => new Map((await readAll(topic, n)).filter((r) => r.key !== null).map((r) => [r.key!.toString(), r.partition]));
  const [mine, theirs] = await Promise.all([partitionOf(ledgerTopic), partitionOf(tokenTopic)]);
  assert.equal(mine.size, 997);
  assert.deepEqual(mine, theirs);
  assert.equal(new Set(mine.values()).size, 3);
});
