// Child of amqp.test.ts: consumes the queue, settles the first 100 delivered messages, holds the
// rest, reports how many messages were acknowledged, and waits to be SIGKILLed.
import { Pipeline } from "../../src/core/index.js";
import { AMQPSource } from "../../src/amqp/index.js";
import { sleep, until } from "../helpers/components.js";
import { HoldSink, makeApp } from "./helpers.js";

const queue = process.argv[2]!;
const total = Number(process.argv[3]);
const { app } = makeApp();
const pipeline = new Pipeline(app, "P");
const source = new AMQPSource(app, pipeline, "AMQPConnection", { config: { queue, prefetch_count: 1000, receipt_messages: 30 } });
const sink = new HoldSink(app, pipeline);
pipeline.build(source, sink);
app.pumpService.addPipeline(pipeline);
void app.run();
await until(() => sink.events.length === total, 60_000);
const held = (sink as unknown as { held: { settle(): void }[] }).held;
// One entry per event; a batch is acked only once all its events settled.
for (const r of held.splice(0, 100)) r.settle();
await sleep(500);
process.stdout.write(`settled ${source.counts.acked} of ${source.counts.received}\n`);
setInterval(() => {}, 1000);
