/**
 * One pump process of the binlog fault test: reads the binlog (MySQLBinaryLogSource, settled
 * position in a JSON file) and writes every row change as a JSON line with its binlog position to a
 * file (FileLineSink, which settles receipts once written). Runs until SIGTERM.
 * Usage: node --import tsx binlog-fault-worker.ts <position file> <out file> <tables> <log_file> <log_pos> <server_id>
 */
import { BSPumpApplication, Config, Pipeline, Processor, type EventContext } from "../../src/core/index.js";
import { FileLineSink } from "../../src/file/index.js";
import { MySQLBinaryLogSource, MySQLConnection, type BinlogRowsEvent } from "../../src/mysql/index.js";

const [positionFile, outFile, tables, logFile, logPos, serverId] = process.argv.slice(2) as [string, string, string, string, string, string];

/** One line per row change: position (file, event end, row), GTID, table, operation, id and values. */
class ChangeLines extends Processor {
  process(_context: EventContext, event: unknown): string {
    const e = event as BinlogRowsEvent;
    const op = e.type === "WriteRowsEvent" ? "I" : e.type === "UpdateRowsEvent" ? "U" : "D";
    const lines: string[] = [];
    e.rows.forEach((r, i) => {
      const row = "values" in r ? { v: r.values.v, id: r.values.id } : { v: r.after_values.v, id: r.after_values.id, b: r.before_values.v };
      lines.push(JSON.stringify({ f: e.log_file, p: e.log_position, i, g: e.gtid, t: e.table, op, ...row }));
    });
    return lines.join("\n");
  }
}

const config = Config.fromString(
  `[connection:MySQL]\nhost = 127.0.0.1\nuser = bspump\npassword = bspump\ndb = bspump\n` +
    `[pipeline:Fault:MySQLBinaryLogSource]\nserver_id = ${serverId}\nlog_file = ${logFile}\nlog_pos = ${logPos}\nonly_tables = ${tables}\nposition_file = ${positionFile}\nposition_save_period = 0.02\n` +
    `[pipeline:Fault:FileLineSink]\npath = ${outFile}\nflush_period = 0.3\nbuffer_size = 1048576\n[logging]\nlevel = ${process.env.FAULT_LOG ?? "warn"}\n`,
  "<binlog fault worker>",
);
const app = new BSPumpApplication({ args: [], config });
app.pumpService.addConnection(new MySQLConnection(app, "MySQL"));
const pipeline = new Pipeline(app, "Fault");
pipeline.build(new MySQLBinaryLogSource(app, pipeline, "MySQL"), new ChangeLines(app, pipeline), new FileLineSink(app, pipeline));
app.pumpService.addPipeline(pipeline);
process.exitCode = await app.run();
