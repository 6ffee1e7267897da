/**
 * One pump process of the fault test: consumes a topic in a consumer group and appends every
 * event id to a file, settling the receipts only after the write. Runs until SIGTERM.
 * Usage: node --import tsx fault-worker.ts <broker> <topic> <group> <out file>
 */
import { appendFileSync } from "node:fs";
import { BSPumpApplication, Config, Pipeline, Sink, type EventContext, type Receipt } from "../../src/core/index.js";
import { KafkaConnection, KafkaSource } from "../../src/kafka/index.js";

const [broker, topic, group, file] = process.argv.slice(2) as [string, string, string, string];
// FAULT_WORKERS=N: this pump runs N worker processes (`[bspump] workers`), each recording to `<file>.<worker>`.
const workers = process.env.FAULT_WORKERS ?? "1";
const outFile = workers === "1" ? file : `${file}.${process.env.BSPUMP_WORKER ?? "supervisor"}`;

/** Writes ids in chunks (at most `perTick` every 50 ms, so the stream lasts long enough to kill a process mid-way). */
class RecordingSink extends Sink {
  override readonly settlesReceipts = true;
  private ids: string[] = [];
  private receipts: (Receipt | undefined)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private throttled = false;
  perTick = Number(process.env.FAULT_PER_TICK ?? 500);

  override start(): void {
    this.timer = setInterval(() => this.write(false), 50);
  }

  process(context: EventContext, event: unknown): null {
    this.ids.push((event as Buffer).toString("latin1"));
    this.receipts.push(context.receipt);
    if (!this.throttled && this.ids.length > 4 * this.perTick) {
      this.throttled = true;
      this.pipeline.throttle(this, true);
    }
    return null;
  }

  private write(all: boolean): void {
    const n = all ? this.ids.length : Math.min(this.ids.length, this.perTick);
    if (n === 0) return;
    appendFileSync(outFile, this.ids.splice(0, n).join("\n") + "\n");
    // Settled only once written.
    for (const r of this.receipts.splice(0, n)) r?.settle();
    if (this.throttled && this.ids.length <= 2 * this.perTick) {
      this.throttled = false;
      this.pipeline.throttle(this, false);
    }
  }

  override async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.write(true);
  }
}

const config = Config.fromString(
  `[connection:Kafka]\nbootstrap_servers = ${broker}\n[pipeline:Fault:KafkaSource]\ntopic = ${topic}\ngroup_id = ${group}\nsession_timeout_ms = 6000\nheartbeat_interval_ms = 1000\nauto_commit_interval_ms = 500\n[logging]\nlevel = ${process.env.FAULT_LOG ?? "warn"}\n[bspump]\nworkers = ${workers}\nworker_restart_delay = 0.2\n`,
  "<fault worker>",
);
const app = new BSPumpApplication({ args: [], config });
app.pumpService.addConnection(new KafkaConnection(app, "Kafka"));
const pipeline = new Pipeline(app, "Fault");
pipeline.build(new KafkaSource(app, pipeline, "Kafka"), new RecordingSink(app, pipeline));
app.pumpService.addPipeline(pipeline);
process.exitCode = await app.run();
