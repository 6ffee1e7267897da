/**
 * Kafka → file: appends every record of a topic as a line to a file. Offsets are committed only
 * after the lines were written (the file sink settles the delivery receipts after each write), so
 * a crash re-reads, never skips.
 *
 *   KAFKA_BOOTSTRAP=127.0.0.1:9092 node --import tsx examples/kafka-to-file.ts [topic] [output file]
 *
 * Stop with Ctrl-C.
 */
import * as bspump from "../src/index.js";

const [topic = "example-out", path = "kafka-records.log"] = process.argv.slice(2);

class KafkaToFilePipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.kafka.KafkaSource(app, this, "KafkaConnection", { config: { topic, group_id: "bspump-example-file" } }),
      new bspump.file.FileLineSink(app, this, { config: { path } }),
    );
  }
}

const config = bspump.Config.fromString(`[kafka]\nbootstrap_servers = ${process.env.KAFKA_BOOTSTRAP ?? "127.0.0.1:9092"}\n`, "<example>");
const app = new bspump.BSPumpApplication({ args: [], config });
// No [connection:KafkaConnection] section: the connection falls back to [kafka], as in BSPump.
app.pumpService.addConnection(new bspump.kafka.KafkaConnection(app, "KafkaConnection"));
app.pumpService.addPipeline(new KafkaToFilePipeline(app, "KafkaToFilePipeline"));
process.exitCode = await app.run();
