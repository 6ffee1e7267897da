/**
 * One pump process of the CDC fault test: streams a replication slot and appends every change
 * (table, op, id, v, lsn, commit_lsn, xid) as a JSON line to a file, settling the receipts only
 * after the write. Runs until SIGTERM.
 * Usage: node --import tsx cdc-worker.ts <slot> <tables, comma-separated> <out file>
 */
import { appendFileSync } from "node:fs";
import { BSPumpApplication, Config, Pipeline, Sink, type EventContext, type Receipt } from "../../src/core/index.js";
import { PostgreSQLConnection, PostgreSQLLogicalReplicationSource, type ChangeEvent } from "../../src/postgresql/index.js";

const [slot, tables, outFile] = process.argv.slice(2) as [string, string, string];

/** Writes changes in chunks (at most `perTick` every 50 ms, so the stream lasts long enough to kill the process mid-way). */
class RecordingSink extends Sink {
  override readonly settlesReceipts = true;
  private lines: string[] = [];
  private receipts: (Receipt | undefined)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private throttled = false;
  perTick = Number(process.env.FAULT_PER_TICK ?? 2000);

  override start(): void {
    this.timer = setInterval(() => this.write(false), 50);
  }

  process(context: EventContext, event: unknown): null {
    const e = event as ChangeEvent;
    const row = (e.after ?? e.before) as { id: number; v: number } | null;
    this.lines.push(JSON.stringify({ t: e.table, op: e.op, id: row?.id, v: row?.v, lsn: e.lsn, c: e.commit_lsn, x: e.xid }));
    this.receipts.push(context.receipt);
    if (!this.throttled && this.lines.length > 4 * this.perTick) {
      this.throttled = true;
      this.pipeline.throttle(this, true);
    }
    return null;
  }

  private write(all: boolean): void {
    const n = all ? this.lines.length : Math.min(this.lines.length, this.perTick);
    if (n === 0) return;
    appendFileSync(outFile, this.lines.splice(0, n).join("\n") + "\n");
    for (const r of this.receipts.splice(0, n)) r?.settle();
    if (this.throttled && this.lines.length <= 2 * this.perTick) {
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
  `[connection:PG]\nhost = 127.0.0.1\nuser = bspump\npassword = bspump\ndb = bspump\n[pipeline:CDC:PostgreSQLLogicalReplicationSource]\nslot_name = ${slot}\npublication_tables = ${tables}\nstatus_interval = 0.5\n[logging]\nlevel = ${process.env.FAULT_LOG ?? "warn"}\n`,
  "<cdc worker>",
);
const app = new BSPumpApplication({ args: [], config });
app.pumpService.addConnection(new PostgreSQLConnection(app, "PG"));
const pipeline = new Pipeline(app, "CDC");
pipeline.build(new PostgreSQLLogicalReplicationSource(app, pipeline, "PG"), new RecordingSink(app, pipeline));
app.pumpService.addPipeline(pipeline);
process.exitCode = await app.run();
