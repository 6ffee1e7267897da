/**
 * PostgreSQL CDC → OpenSearch/Elasticsearch: streams the changes of a table through logical
 * replication (PostgreSQLLogicalReplicationSource, pgoutput) and keeps one document per row in an
 * index, `_id` = `<table>:<id>`: inserts and updates index the new row, a delete indexes a tombstone
 * (`deleted: true`, the old key). The slot advances only once the index confirmed a transaction's
 * documents, so a restart of this program resumes where it stopped (at-least-once; indexing by id
 * makes a repeat harmless).
 *
 *   node --import tsx examples/postgresql-cdc-to-elasticsearch.ts [http://127.0.0.1:9200]
 *
 * Connects as bspump/bspump to the database `bspump` on 127.0.0.1:5432 (its user needs the
 * REPLICATION attribute), creates a sample table, makes a few changes, waits until they are indexed
 * and stops; the slot and the publication are dropped at the end.
 */
import pg from "pg";
import * as bspump from "../src/index.js";

const url = process.argv[2] ?? process.env.ES_URL ?? "http://127.0.0.1:9200";
const DB = { host: "127.0.0.1", port: 5432, user: "bspump", password: "bspump", database: "bspump" };
const admin = new pg.Client(DB);
await admin.connect();
await admin.query("DROP TABLE IF EXISTS example_orders");
await admin.query("CREATE TABLE example_orders (id INT PRIMARY KEY, customer TEXT, total NUMERIC(10,2), at TIMESTAMPTZ DEFAULT now())");

/** A change event → the document for its row. */
class ChangeToDocument extends bspump.Processor {
  process(_context: bspump.EventContext, event: unknown): unknown {
    const change = event as bspump.postgresql.ChangeEvent;
    if (change.op === "truncate") return null; // nothing to index per row
    const row = (change.after ?? change.before)!;
    return {
      _id: `${change.table}:${String(row.id)}`,
      ...(change.op === "delete" ? { id: row.id, deleted: true } : { ...change.after, deleted: false }),
      "@timestamp": change.commit_time,
      lsn: change.lsn,
    };
  }
}

class CDCPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.postgresql.PostgreSQLLogicalReplicationSource(app, this, "PG", { config: { slot_name: "example_orders_cdc", publication_tables: "example_orders" } }),
      new ChangeToDocument(app, this),
      new bspump.elasticsearch.ElasticSearchSink(app, this, "ES", { config: { index: "bspump-example-orders", action: "index" } }),
    );
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
app.pumpService.addConnection(new bspump.postgresql.PostgreSQLConnection(app, "PG", { config: { host: DB.host, user: DB.user, password: DB.password, db: DB.database } }));
app.pumpService.addConnection(new bspump.elasticsearch.ElasticSearchConnection(app, "ES", { config: { url } }));
const pipeline = app.pumpService.addPipeline(new CDCPipeline(app, "CDCPipeline"));
const running = app.run();

// Once the slot streams, change some rows.
while ((await admin.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'example_orders_cdc' AND active")).rowCount === 0) await new Promise((r) => setTimeout(r, 100));
await admin.query("INSERT INTO example_orders (id, customer, total) VALUES (1, 'Ann', 10.50), (2, 'Bob', 99.00), (3, 'Cyril', 5.25)");
await admin.query("UPDATE example_orders SET total = total * 2 WHERE id = 2");
await admin.query("DELETE FROM example_orders WHERE id = 3");
const es = app.pumpService.locateConnection<bspump.elasticsearch.ElasticSearchConnection>("ES");
while (es.ok < 5) await new Promise((r) => setTimeout(r, 100));
app.stop();
await running;
console.log(`${pipeline.eventIn} changes read; the index confirmed ${es.ok} documents`);
await fetch(`${url}/bspump-example-orders/_refresh`, { method: "POST" });
const found = (await (await fetch(`${url}/bspump-example-orders/_search?sort=_id`)).json()) as { hits: { hits: { _id: string; _source: unknown }[] } };
console.log(found.hits.hits.map((h) => [h._id, h._source]));

await admin.query("SELECT pg_drop_replication_slot('example_orders_cdc')");
await admin.query("DROP PUBLICATION example_orders_cdc");
await admin.query("DROP TABLE example_orders");
await admin.end();
