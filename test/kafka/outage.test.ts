// @services kafka
/**
 * Broker outages are survived without a person: a pump whose broker is down when it starts, and
 * a pump whose broker is stopped and restarted mid-stream (both the source's and the sink's side),
 * deliver every event once the broker is back — no event lost, the pipeline never in error, no
 * clear-error. The broker is the test's own (TestBroker), so stopping it disturbs no other test.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { type BSPumpApplication, Pipeline } from "../../src/core/index.js";
import { KafkaSink, KafkaSource } from "../../src/kafka/index.js";
import { TestBroker } from "./broker.js";
import { createTopic, kafkaAt, makeApp, produce, readAll, register, unique, until } from "./helpers.js";

const broker = new TestBroker(19092);
const client = kafkaAt(broker.address);
after(() => broker.destroy());

/** KafkaSource → KafkaSink on the test broker; records whether the pipeline was ever in error. */
function pump(input: string, output: string): { app: BSPumpApplication; sink: KafkaSink; source: KafkaSource; errors: string[] } {
  const app = makeApp(
    `[pipeline:O:KafkaSource]\ntopic = ${input}\ngroup_id = ${unique("outage-group")}\nsleep_on_error = 0.5\n` +
      `[pipeline:O:KafkaSink]\ntopic = ${output}\nlinger.ms = 20\n[logging]\nlevel = ${process.env.OUTAGE_LOG ?? "error"}\n`,
    broker.address,
  );
  const pipeline = new Pipeline(app, "O");
  const source = new KafkaSource(app, pipeline, "Kafka");
  const sink = new KafkaSink(app, pipeline, "Kafka");
  register(pipeline, source, sink);
  const errors: string[] = [];
  pipeline.pubsub.subscribe("bspump.pipeline.error!", () => errors.push(pipeline.error?.error.message ?? "?"));
  return { app, sink, source, errors };
}

/** A broker that just started may not lead its new partitions yet: set-up steps are retried. */
async function retrying(step: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (e) {
      if (attempt >= 30) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Two topics of 3 partitions; the input filled with the values 0 … n-1 (a retried send may repeat some). */
async function topics(input: string, output: string, n: number): Promise<void> {
  await retrying(() => createTopic(input, 3, client));
  await retrying(() => createTopic(output, 3, client));
  const messages = Array.from({ length: n }, (_, i) => ({ value: String(i) }));
  await retrying(() => produce(input, messages, 20_000, client));
}

async function distinctValues(topic: string, atLeast: number): Promise<Set<string>> {
  return new Set((await readAll(topic, atLeast, 120_000, client)).map((r) => r.value!.toString()));
}

test("broker down when the pump starts: it waits, connects when the broker is back, delivers everything", { timeout: 300_000 }, async () => {
  await broker.start();
  const input = unique("down-in");
  const output = unique("down-out");
  const n = 10_000;
  await topics(input, output, n);
  await broker.stop();

  const { app, sink, source, errors } = pump(input, output);
  const run = app.run();
  await new Promise((r) => setTimeout(r, 20_000));
  assert.equal(sink.delivered, 0);
  assert.equal(source.describe().Connected, false, "not connected while the broker is down");
  assert.deepEqual(errors, [], "no pipeline error while waiting for the broker");

  await broker.start();
  await until(() => sink.delivered >= n, 120_000, "every event delivered after the broker came back");
  app.stop();
  assert.equal(await run, 0);
  assert.deepEqual(errors, []);
  const got = await distinctValues(output, n);
  assert.equal(got.size, n, `${n - got.size} events lost`);
});

test("broker stopped and restarted mid-stream under 100,000 events: none lost, no clear-error", { timeout: 300_000 }, async () => {
  const input = unique("restart-in");
  const output = unique("restart-out");
  const n = 100_000;
  await topics(input, output, n);

  const { app, sink, errors } = pump(input, output);
  const run = app.run();
  await until(() => sink.delivered >= 20_000, 120_000, "the stream under way");
  await broker.stop();
  const atStop = sink.delivered;
  assert.ok(atStop < n, `the broker stopped mid-stream (${atStop} delivered)`);
  await new Promise((r) => setTimeout(r, 3_000));
  await broker.start();
  await until(() => sink.delivered >= n, 240_000, "every event delivered after the restart");
  app.stop();
  assert.equal(await run, 0);
  assert.deepEqual(errors, [], "the pipeline was never in error");
  const got = await distinctValues(output, sink.delivered);
  assert.equal(got.size, n, `${n - got.size} events lost`);
});
