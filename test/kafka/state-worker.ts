/**
 * One pump process of the analyzer-state test: a KafkaSource in a consumer group (`state_topic`
 * set) → a partitioned TimeWindowAnalyzer and SessionAnalyzer keyed by the Kafka key → a sink that
 * settles receipts slowly (so the stream lasts long enough to stop and kill processes mid-way).
 * The analyzer's results go to a second pipeline that appends them, one JSON line each, to a file.
 * With STATE_EOS_TOPIC set, the source is `exactly_once` and the second pipeline also produces
 * each line to that topic with an `exactly_once` KafkaSink (the file then shows what was emitted,
 * aborted transactions included; the topic, read committed, what counts).
 * Runs until SIGTERM.
 * Usage: node --import tsx state-worker.ts <broker> <topic> <group> <state topic> <out file>
 */
import { appendFileSync } from "node:fs";
import { BSPumpApplication, Config, Pipeline, Processor, Sink, type EventContext, type Receipt } from "../../src/core/index.js";
import { InternalSource, NullSink } from "../../src/common/index.js";
import { SessionAnalyzer, TimeWindowAnalyzer } from "../../src/analyzer/index.js";
import { KafkaConnection, KafkaSink, KafkaSource } from "../../src/kafka/index.js";

const [broker, topic, group, stateTopic, outFile] = process.argv.slice(2) as [string, string, string, string, string];
const eosTopic = process.env.STATE_EOS_TOPIC ?? "";

/** The record value "t,v" and the Kafka key → an event. */
class Parse extends Processor {
  process(context: EventContext, event: unknown): unknown {
    const [t, v] = (event as Buffer).toString("latin1").split(",");
    return { key: (context.kafka_key as Buffer).toString("latin1"), "@timestamp": Number(t), value: Number(v) };
  }
}

/**
 * Settles at most `perTick` receipts every 50 ms (throttling the pipeline meanwhile). With
 * STATE_FAIL_EVERY = n, fails every n-th receipt instead (exactly_once: its transaction aborts and
 * the partitions are read again from their last commit, state rolled back with them).
 */
class SlowSink extends Sink {
  override readonly settlesReceipts = true;
  private receipts: (Receipt | undefined)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private throttled = false;
  private readonly perTick = Number(process.env.STATE_PER_TICK ?? 100);
  private readonly failEvery = Number(process.env.STATE_FAIL_EVERY ?? 0);
  private settledCount = 0;

  override start(): void {
    this.timer = setInterval(() => this.settle(this.perTick), 50);
  }

  process(context: EventContext): null {
    this.receipts.push(context.receipt);
    if (!this.throttled && this.receipts.length > 4 * this.perTick) {
      this.throttled = true;
      this.pipeline.throttle(this, true);
    }
    return null;
  }

  private settle(n: number): void {
    for (const r of this.receipts.splice(0, n)) {
      if (this.failEvery > 0 && ++this.settledCount % this.failEvery === 0) r?.fail(new Error("STATE_FAIL_EVERY: a failure for the test"));
      else r?.settle();
    }
    if (this.throttled && this.receipts.length <= 2 * this.perTick) {
      this.throttled = false;
      this.pipeline.throttle(this, false);
    }
  }

  override async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.settle(this.receipts.length);
  }
}

/** Appends each result as a JSON line (synchronously: written before its receipt settles); passes the line on. */
class ResultLine extends Processor {
  process(_context: EventContext, event: unknown): string {
    const line = JSON.stringify(event);
    appendFileSync(outFile, line + "\n");
    return line;
  }
}

const config = Config.fromString(
  `[connection:Kafka]\nbootstrap_servers = ${broker}\n` +
    `[pipeline:Events:KafkaSource]\ntopic = ${topic}\ngroup_id = ${group}\nstate_topic = ${stateTopic}\nmax_partition_fetch_bytes = 8192\nsession_timeout_ms = 6000\nheartbeat_interval_ms = 1000\nauto_commit_interval_ms = 500\n` +
    (eosTopic === "" ? "" : `exactly_once = true\n[pipeline:Results:KafkaSink]\ntopic = ${eosTopic}\nexactly_once = true\ntransaction_timeout_ms = 10000\nsocket_timeout_ms = 10000\n`) +
    `[pipeline:Events:Windows]\npartitioned = true\ntarget = Results.*Results\nresolution = 50\ncolumns = 3\ndimension_attr = key\nvalue_attr = value\nemit = dimension\n` +
    `[pipeline:Events:Sessions]\npartitioned = true\ntarget = Results.*Results\nsession_attr = key\nidle_timeout = 30\nmax_length = 200\nsum_fields = value\nscan_period = 10\n` +
    `[logging]\nlevel = ${process.env.STATE_LOG ?? "warn"}\n`,
  "<state worker>",
);
const app = new BSPumpApplication({ args: [], config });
app.pumpService.addConnection(new KafkaConnection(app, "Kafka"));
const results = new Pipeline(app, "Results");
results.build(new InternalSource(app, results, { id: "Results" }), new ResultLine(app, results), eosTopic === "" ? new NullSink(app, results) : new KafkaSink(app, results, "Kafka"));
app.pumpService.addPipeline(results);
const events = new Pipeline(app, "Events");
events.build(
  new KafkaSource(app, events, "Kafka"),
  new Parse(app, events),
  new TimeWindowAnalyzer(app, events, { id: "Windows" }),
  new SessionAnalyzer(app, events, { id: "Sessions" }),
  new SlowSink(app, events),
);
app.pumpService.addPipeline(events);
process.exitCode = await app.run();
