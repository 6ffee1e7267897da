/**
 * CSV files → PostgreSQL: reads every `*.csv` in a folder with FileCSVSource and upserts each row
 * into a table with PostgreSQLSink (`table` + `upsert_key`: multi-row `INSERT … ON CONFLICT (id) DO
 * UPDATE`, bulks of `max_bulk_size` rows, receipts settled after the commit). A file is moved to
 * `<name>-processed` once all its rows are committed; a row the database refuses (here a
 * non-numeric price) is a warning with the database's message, and the file's other rows land.
 *
 *   node --import tsx examples/postgresql-csv-to-table.ts [input-folder]
 *
 * Connects as bspump/bspump to the database `bspump` on 127.0.0.1:5432. Without a folder it writes
 * two sample files (the second updates a product of the first) in a temp folder.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import * as bspump from "../src/index.js";

const DB = { host: "127.0.0.1", port: 5432, user: "bspump", password: "bspump", database: "bspump" };
const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "bspump-example-"));
if (!process.argv[2]) {
  writeFileSync(join(dir, "1-products.csv"), 'id,name,price\n1,Apple,0.50\n2,"Pear, green",0.75\n3,Plum,oops\n');
  writeFileSync(join(dir, "2-products.csv"), "id,name,price\n2,Pear,0.80\n4,Fig,1.20\n");
}
const admin = new pg.Client(DB);
await admin.connect();
await admin.query("CREATE TABLE IF NOT EXISTS example_products (id INT PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(8,2))");

class CSVToTablePipeline extends bspump.Pipeline {
  readonly table: bspump.postgresql.PostgreSQLSink;
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.table = new bspump.postgresql.PostgreSQLSink(app, this, "PG", { config: { table: "example_products", data: "id, name, price", upsert_key: "id" } });
    this.build(
      new bspump.file.FileCSVSource(app, this, { config: { path: join(dir, "*.csv"), post: "move", files_per_cycle: 0 } }).on(new bspump.RunOnceTrigger(app)),
      this.table,
    );
  }
  // A refused row is a warning with the database's message, not a stop.
  override handleError(error: Error): boolean {
    this.log.warn(error.message);
    return true;
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
app.pumpService.addConnection(new bspump.postgresql.PostgreSQLConnection(app, "PG", { config: { host: DB.host, user: DB.user, password: DB.password, db: DB.database, flush_period: 0.2 } }));
const pipeline = new CSVToTablePipeline(app, "CSVToTablePipeline");
app.pumpService.addPipeline(pipeline);
await app.run();
console.log(`${pipeline.eventIn} rows read, ${pipeline.table.counts.rows} written, ${pipeline.table.counts.refused} refused`);
console.log((await admin.query("SELECT id, name, price FROM example_products ORDER BY id")).rows);
await admin.query("DROP TABLE example_products");
await admin.end();
