/**
 * Kafka → JSON → Kafka: reads JSON records from one topic, adds a field, writes them to another,
 * keeping each record's key and headers. Offsets are committed only for records the output topic
 * acknowledged (at-least-once); malformed JSON goes to a dead-letter topic instead of stopping the
 * pipeline. Run several copies: they share the partitions (consumer group `bspump-example`).
 *
 *   KAFKA_BOOTSTRAP=127.0.0.1:9092 node --import tsx examples/kafka-json-to-kafka.ts [in] [out] [dead-letter]
 *
 * Stop with Ctrl-C (graceful: the buffered output is flushed and settled offsets are committed).
 */
import * as bspump from "../src/index.js";

const [input = "example-in", output = "example-out", deadLetter = "example-dead-letter"] = process.argv.slice(2);
const config = bspump.Config.fromString(
  `[connection:KafkaConnection]
bootstrap_servers = ${process.env.KAFKA_BOOTSTRAP ?? "127.0.0.1:9092"}

[pipeline:EnrichPipeline]
dead_letter = DeadLetterPipeline

[pipeline:EnrichPipeline:KafkaSource]
topic = ${input}
group_id = bspump-example

[pipeline:EnrichPipeline:KafkaSink]
topic = ${output}
linger.ms = 50

[pipeline:DeadLetterPipeline:KafkaSink]
topic = ${deadLetter}
`,
  "<example>",
);

class Enrich extends bspump.Processor {
  process(_context: bspump.EventContext, event: unknown): unknown {
    const record = event as Record<string, unknown>;
    record.processed_at = new Date().toISOString();
    return record;
  }
}

class EnrichPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.kafka.KafkaSource(app, this, "KafkaConnection"),
      new bspump.common.StdJsonToDictParser(app, this),
      new Enrich(app, this),
      new bspump.common.DictToJsonBytesParser(app, this),
      new bspump.kafka.KafkaSink(app, this, "KafkaConnection"),
    );
  }
}

/** Receives what failed in EnrichPipeline (the original bytes, the error) and writes it as JSON. */
class DeadLetterPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      [],
      new (class extends bspump.Processor {
        process(_context: bspump.EventContext, event: unknown): unknown {
          const dead = event as bspump.DeadLetterEvent;
          const original = Buffer.isBuffer(dead.event) ? dead.event.toString("utf8") : dead.event;
          return JSON.stringify({ ...dead, event: original });
        }
      })(app, this, { id: "DeadLetterToJSON" }),
      new bspump.kafka.KafkaSink(app, this, "KafkaConnection"),
    );
  }
}

const app = new bspump.BSPumpApplication({ args: [], config });
const connection = app.pumpService.addConnection(new bspump.kafka.KafkaConnection(app, "KafkaConnection"));
const initializer = new bspump.kafka.KafkaTopicInitializer(app, connection);
const enrich = new EnrichPipeline(app, "EnrichPipeline");
const dead = new DeadLetterPipeline(app, "DeadLetterPipeline");
initializer.includeTopics({ pipeline: enrich });
initializer.includeTopics({ pipeline: dead });
await initializer.initializeTopics();
app.pumpService.addPipelines(dead, enrich);
process.exitCode = await app.run();
