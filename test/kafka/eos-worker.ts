/**
 * One pump process of the exactly-once fault test: KafkaSource → Pace → KafkaSink, Kafka to Kafka,
 * with `exactly_once` as the EXACTLY_ONCE environment variable says. Runs until SIGTERM.
 * Usage: node --import tsx eos-worker.ts <broker> <input topic> <group> <output topic>
 */
import { BSPumpApplication, Config, Pipeline, Processor, type EventContext } from "../../src/core/index.js";
import { KafkaConnection, KafkaSink, KafkaSource } from "../../src/kafka/index.js";

const [broker, input, group, output] = process.argv.slice(2) as [string, string, string, string];
const eos = process.env.EXACTLY_ONCE === "1";

/** Events a process lets through per second: the stream lasts long enough to kill a process mid-way. */
const RATE = 4000;

/**
 * Lets events through at RATE: each leaves at its slot on a clock that advances 1/RATE s per event.
 * Holding every 100th event for a while did not do it: held events overlap (the pipeline runs
 * asynchronous processors side by side), and with a faster client a process was done with its
 * partitions before the test's kill came.
 */
class Pace extends Processor {
  private slot = 0;
  process(_context: EventContext, event: unknown): unknown {
    const now = performance.now();
    this.slot = Math.max(this.slot, now) + 1000 / RATE;
    const wait = this.slot - now;
    return wait < 1 ? event : new Promise((resolve) => setTimeout(() => resolve(event), wait));
  }
}

const config = Config.fromString(
  `[connection:Kafka]\nbootstrap_servers = ${broker}\nrequest_timeout_ms = 5000\n` +
    `[pipeline:EOS:KafkaSource]\ntopic = ${input}\ngroup_id = ${group}\nexactly_once = ${eos}\nsession_timeout_ms = 6000\nheartbeat_interval_ms = 1000\nauto_commit_interval_ms = 500\ntransaction_interval_ms = 200\n` +
    `[pipeline:EOS:KafkaSink]\ntopic = ${output}\nexactly_once = ${eos}\nlinger.ms = 5\n${eos ? "transaction.timeout.ms = 6000\n" : ""}` +
    `[logging]\nlevel = ${process.env.FAULT_LOG ?? "warn"}\n`,
  "<eos worker>",
);
const app = new BSPumpApplication({ args: [], config });
app.pumpService.addConnection(new KafkaConnection(app, "Kafka"));
const pipeline = new Pipeline(app, "EOS");
pipeline.build(new KafkaSource(app, pipeline, "Kafka"), new Pace(app, pipeline), new KafkaSink(app, pipeline, "Kafka"));
app.pumpService.addPipeline(pipeline);
process.exitCode = await app.run();
