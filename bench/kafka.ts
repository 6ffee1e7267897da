/**
 * Kafka → JSON parse → add a field → JSON → Kafka: events/s of the pump against a plain kafkajs
 * consume→produce loop doing the same work, in one run, on the local broker.
 *
 *   node --import tsx bench/kafka.ts          (KAFKA_BOOTSTRAP=127.0.0.1:9092, BENCH_N=200000)
 */
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { BSPumpApplication, Config, Pipeline, Processor, type EventContext } from "../src/core/index.js";
import { DictToJsonBytesParser, StdJsonToDictParser } from "../src/common/index.js";
import { pythonJsonDumps } from "../src/codec/index.js";
import { KafkaConnection, KafkaSink, KafkaSource } from "../src/kafka/index.js";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const BROKER = process.env.KAFKA_BOOTSTRAP ?? "127.0.0.1:9092";
const N = Number(process.env.BENCH_N ?? 200_000);
const PARTITIONS = 3;
const run = `${Date.now().toString(36)}-${process.pid}`;
const kafka = new Kafka({ clientId: "bench", brokers: [BROKER], logLevel: process.env.BENCH_DEBUG ? logLevel.WARN : logLevel.NOTHING });

async function prepare(): Promise<string> {
  const input = `bench-in-${run}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [input, `bench-plain-${run}`, `bench-pump-${run}`].map((topic) => ({ topic, numPartitions: PARTITIONS })),
  });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const chunk = 10000;
  for (let i = 0; i < N; i += chunk) {
    const messages = [];
    for (let j = i; j < Math.min(N, i + chunk); j++) {
      messages.push({ key: `user-${j % 1000}`, value: JSON.stringify({ id: j, user: `user-${j % 1000}`, action: "click", ts: 1700000000 + j, tags: ["a", "b"] }) });
    }
    await producer.send({ topic: input, messages });
  }
  await producer.disconnect();
  return input;
}

/** The floor: one kafkajs consumer and one producer, a batch at a time. */
async function plainLoop(input: string): Promise<number> {
  const output = `bench-plain-${run}`;
  const consumer = kafka.consumer({ groupId: `bench-plain-${run}` });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  const t0 = performance.now();
  let done = 0;
  const progress = setInterval(() => console.error(`  plain: ${done}/${N}`), 5000);
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        const messages = new Array<{ key: Buffer | null; value: string }>(batch.messages.length);
        for (let i = 0; i < batch.messages.length; i++) {
          const m = batch.messages[i]!;
          const event = JSON.parse(m.value!.toString("utf8")) as Record<string, unknown>;
          event.processed = true;
          messages[i] = { key: m.key, value: pythonJsonDumps(event)! };
        }
        // Produce requests below the broker's message size limit.
        for (let i = 0; i < messages.length; i += 5000) await producer.send({ topic: output, messages: messages.slice(i, i + 5000), acks: -1 });
        done += messages.length;
        if (done >= N) resolve();
      },
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(progress);
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  return N / seconds;
}

class AddField extends Processor {
  process(_context: EventContext, event: unknown): unknown {
    (event as Record<string, unknown>).processed = true;
    return event;
  }
}

async function pump(input: string): Promise<number> {
  const output = `bench-pump-${run}`;
  const config = Config.fromString(
    `[connection:Kafka]\nbootstrap_servers = ${BROKER}\n[pipeline:Bench:KafkaSource]\ntopic = ${input}\ngroup_id = bench-pump-${run}\n` +
      `[pipeline:Bench:KafkaSink]\ntopic = ${output}\nlinger.ms = 5\n[logging]\nlevel = warn\n`,
    "<bench>",
  );
  const app = new BSPumpApplication({ args: [], config, handleSignals: false });
  app.pumpService.addConnection(new KafkaConnection(app, "Kafka"));
  const pipeline = new Pipeline(app, "Bench");
  const sink = new KafkaSink(app, pipeline, "Kafka");
  pipeline.build(new KafkaSource(app, pipeline, "Kafka"), new StdJsonToDictParser(app, pipeline), new AddField(app, pipeline), new DictToJsonBytesParser(app, pipeline), sink);
  app.pumpService.addPipeline(pipeline);
  const t0 = performance.now();
  const running = app.run();
  const progress = setInterval(() => console.error(`  pump: ${sink.delivered}/${N} (in ${pipeline.eventIn})`), 5000);
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (sink.delivered >= N) {
        clearInterval(check);
        resolve();
      }
    }, 5);
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(progress);
  app.stop();
  await running;
  if (sink.failed !== 0) throw new Error(`${sink.failed} sends failed`);
  return N / seconds;
}

const input = await prepare();
const plain = await plainLoop(input);
const pumped = await pump(input);
const fmt = (v: number) => Math.round(v).toLocaleString("en-US");
console.log(`kafka bench: ${N} events, ${PARTITIONS} partitions, Kafka → JSON parse → add field → JSON → Kafka`);
console.log(`  plain kafkajs loop: ${fmt(plain)} events/s`);
console.log(`  bspump pipeline:    ${fmt(pumped)} events/s`);
console.log(`  ratio pump/plain:   ${(pumped / plain).toFixed(2)}`);
