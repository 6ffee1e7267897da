// The pump of bench/workers-kafka.mjs: K1 (Kafka → JSON parse → add a field → JSON → Kafka) with
// `--workers N`. Every worker's pipeline stays throttled until the file <gate> exists, so that the
// group has settled (every worker holds partitions) before the clock starts.
// Usage: node bench/workers-kafka-pump.mjs <broker> <input> <output> <group> <gate> --workers N -w 127.0.0.1:0
import { existsSync } from "node:fs";
import * as core from "../dist/src/core/index.js";
import * as common from "../dist/src/common/index.js";
import * as kafka from "../dist/src/kafka/index.js";
import "../dist/src/web/index.js"; // the web API (the bench waits for /health)

const [broker, input, output, group, gate, ...args] = process.argv.slice(2);

class AddField extends core.Processor {
  process(_context, event) {
    event.processed = true;
    return event;
  }
}

const config = core.Config.fromString(
  `[connection:Kafka]\nbootstrap_servers = ${broker}\n[pipeline:K1:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\n[pipeline:K1:KafkaSink]\ntopic = ${output}\nlinger.ms = 5\n[logging]\nlevel = warn\nlevels = bspump.web = info, bspump.supervisor = info\n`,
  "<bench workers-kafka>",
);
const app = new core.BSPumpApplication({ args, config });
app.pumpService.addConnection(new kafka.KafkaConnection(app, "Kafka"));
const pipeline = new core.Pipeline(app, "K1");
pipeline.build(new kafka.KafkaSource(app, pipeline, "Kafka"), new common.StdJsonToDictParser(app, pipeline), new AddField(app, pipeline), new common.DictToJsonBytesParser(app, pipeline), new kafka.KafkaSink(app, pipeline, "Kafka"));
const gated = {};
pipeline.throttle(gated, true);
const poll = setInterval(() => {
  if (!existsSync(gate)) return;
  clearInterval(poll);
  pipeline.throttle(gated, false);
}, 5);
app.pumpService.addPipeline(pipeline);
process.exitCode = await app.run();
clearInterval(poll);
