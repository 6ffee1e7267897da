/**
 * RabbitMQ → RabbitMQ: consumes JSON messages from the queue `bspump-example-in`, adds a field, and
 * publishes them to `bspump-example-out` through the default exchange. Each input message is
 * acknowledged only after the broker confirmed its output copy (at-least-once, end to end).
 *
 *   node --import tsx examples/amqp-queue-to-queue.ts [amqp://guest:guest@127.0.0.1:5672/]
 *
 * It declares both queues, publishes three sample messages, runs until they went through, and prints them.
 */
import { connect } from "amqplib";
import * as bspump from "../src/index.js";

const url = process.argv[2] ?? "amqp://guest:guest@127.0.0.1:5672/";
const admin = await connect(url);
const ch = await admin.createChannel();
for (const q of ["bspump-example-in", "bspump-example-out"]) await ch.assertQueue(q);
for (const name of ["Ann", "Bob", "Cyril"]) ch.sendToQueue("bspump-example-in", Buffer.from(JSON.stringify({ name })));

class Enrich extends bspump.Processor {
  process(_context: bspump.EventContext, event: unknown): unknown {
    return { ...(event as object), processed_at: new Date().toISOString() };
  }
}

class QueuePipeline extends bspump.Pipeline {
  readonly out: bspump.amqp.AMQPSink;
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.out = new bspump.amqp.AMQPSink(app, this, "AMQPConnection", { config: { exchange: "", routing_key: "bspump-example-out", content_type: "application/json" } });
    this.build(
      new bspump.amqp.AMQPSource(app, this, "AMQPConnection", { config: { queue: "bspump-example-in", prefetch_count: 100 } }),
      new bspump.common.StdJsonToDictParser(app, this),
      new Enrich(app, this),
      this.out,
    );
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
app.pumpService.addConnection(new bspump.amqp.AMQPConnection(app, "AMQPConnection", { config: { url } }));
const pipeline = new QueuePipeline(app, "QueuePipeline");
app.pumpService.addPipeline(pipeline);
const running = app.run();
while (pipeline.out.counts.confirmed < 3) await new Promise((r) => setTimeout(r, 50));
app.stop();
await running;
for (;;) {
  const m = await ch.get("bspump-example-out", { noAck: true });
  if (m === false) break;
  console.log(m.content.toString());
}
for (const q of ["bspump-example-in", "bspump-example-out"]) await ch.deleteQueue(q);
await admin.close();
