/**
 * MySQL → MySQL: reads the rows of a table with MySQLSource (streamed, bounded memory), converts a
 * field, and writes them to another table with MySQLSink (multi-row INSERTs of `max_bulk_size` rows,
 * or whatever waited `flush_period` seconds). Runs one cycle, then stops.
 *
 *   node --import tsx examples/mysql-table-copy.ts
 *
 * Connects as bspump/bspump to the database `bspump` on 127.0.0.1:3306 and creates two sample tables.
 */
import { createConnection } from "mysql2/promise";
import * as bspump from "../src/index.js";

const DB = { host: "127.0.0.1", port: 3306, user: "bspump", password: "bspump", database: "bspump" };
const admin = await createConnection(DB);
await admin.query("DROP TABLE IF EXISTS example_people, example_people_copy");
await admin.query("CREATE TABLE example_people (id INT PRIMARY KEY, name VARCHAR(40), born INT)");
await admin.query("CREATE TABLE example_people_copy (id INT PRIMARY KEY, name VARCHAR(40), age INT)");
await admin.query("INSERT INTO example_people VALUES ?", [[[1, "Ann", 1990], [2, "Bob", 1985], [3, "Cyril", 2001]]]);

class Age extends bspump.Processor {
  process(_context: bspump.EventContext, event: unknown): unknown {
    const row = event as { id: number; name: string; born: number };
    return { id: row.id, name: row.name.toUpperCase(), age: 2026 - row.born };
  }
}

class CopyPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.mysql.MySQLSource(app, this, "MySQLConnection", { config: { query: "SELECT id, name, born FROM example_people" } }).on(new bspump.RunOnceTrigger(app)),
      new Age(app, this),
      new bspump.mysql.MySQLSink(app, this, "MySQLConnection", { config: { query: "INSERT INTO example_people_copy (id, name, age) VALUES (%s, %s, %s)", data: "id, name, age" } }),
    );
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
app.pumpService.addConnection(
  new bspump.mysql.MySQLConnection(app, "MySQLConnection", { config: { host: DB.host, port: DB.port, user: DB.user, password: DB.password, db: DB.database, max_bulk_size: 1000 } }),
);
app.pumpService.addPipeline(new CopyPipeline(app, "CopyPipeline"));
await app.run();
const [rows] = await admin.query("SELECT * FROM example_people_copy ORDER BY id");
console.log(rows);
await admin.query("DROP TABLE example_people, example_people_copy");
await admin.end();
