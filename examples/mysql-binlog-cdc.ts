/**
 * MariaDB → file, change data capture: MySQLBinaryLogSource reads the binary log from where the
 * pump stopped last time (the settled position in ./var/mysqlbinlog_CDC_MySQLBinaryLogSource.json)
 * and writes every row change as a JSON line to changes.jsonl. The example makes a few changes to
 * a sample table, waits until they are written, and stops; run it again and it goes on from there.
 *
 *   node --import tsx examples/mysql-binlog-cdc.ts
 *
 * Needs the server's binlog on (log_bin, binlog_format=ROW, binlog_row_image=FULL) and a user with
 * REPLICATION SLAVE, REPLICATION CLIENT and BINLOG MONITOR: scripts/services/up mariadb sets that up
 * (bspump/bspump on 127.0.0.1:3306).
 */
import { createConnection } from "mysql2/promise";
import * as bspump from "../src/index.js";

const DB = { host: "127.0.0.1", port: 3306, user: "bspump", password: "bspump", database: "bspump" };

/** One line per changed row: the operation, the table, the key and the values (before and after for updates). */
class ChangeLines extends bspump.Processor {
  process(_context: bspump.EventContext, event: unknown): string {
    const e = event as bspump.mysql.BinlogRowsEvent;
    const op = { WriteRowsEvent: "insert", UpdateRowsEvent: "update", DeleteRowsEvent: "delete" }[e.type];
    return e.rows.map((row) => JSON.stringify({ op, table: `${e.schema}.${e.table}`, gtid: e.gtid, at: `${e.log_file}:${e.log_position}`, ...row })).join("\n");
  }
}

const config = bspump.Config.fromString("[general]\nvar_dir = ./var\n", "<example>");
const app = new bspump.BSPumpApplication({ args: [], config });
app.pumpService.addConnection(
  new bspump.mysql.MySQLConnection(app, "MySQLConnection", { config: { host: DB.host, port: DB.port, user: DB.user, password: DB.password, db: DB.database } }),
);
const pipeline = new bspump.Pipeline(app, "CDC");
const sink = new bspump.file.FileLineSink(app, pipeline, { config: { path: "changes.jsonl", flush_period: 0.2 } });
pipeline.build(
  new bspump.mysql.MySQLBinaryLogSource(app, pipeline, "MySQLConnection", { config: { server_id: 4711, only_tables: "bspump.example_orders" } }),
  new ChangeLines(app, pipeline),
  sink,
);
app.pumpService.addPipeline(pipeline);
const running = app.run();

const db = await createConnection(DB);
await db.query("CREATE TABLE IF NOT EXISTS example_orders (id INT PRIMARY KEY, item VARCHAR(40), qty INT)");
await new Promise((r) => setTimeout(r, 500)); // the source found its start
const id = Date.now() % 1_000_000;
await db.query("INSERT INTO example_orders VALUES (?, 'apples', 3), (?, 'pears', 1)", [id, id + 1]);
await db.query("UPDATE example_orders SET qty = qty + 1 WHERE id = ?", [id]);
await db.query("DELETE FROM example_orders WHERE id = ?", [id + 1]);
await db.end();
await new Promise((r) => setTimeout(r, 1500)); // written and settled
app.stop();
await running;
console.log("changes appended to changes.jsonl");
