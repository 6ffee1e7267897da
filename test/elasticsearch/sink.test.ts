// @services opensearch
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ElasticSearchConnection, ElasticSearchSink } from "../../src/elasticsearch/index.js";
import { addPipeline, count, createIndex, deleteIndex, es, ES_URL, makeApp, range, runApp, uniqueName } from "./helpers.js";

const created: string[] = [];
after(async () => {
  for (const index of created) await deleteIndex(index);
});

describe("ElasticSearchSink against OpenSearch", () => {
  test("100,000 events are indexed and counted back exactly, receipts settled", async () => {
    const index = uniqueName("bspump-sink-100k");
    created.push(index);
    await createIndex(index, { mappings: { properties: { n: { type: "long" }, name: { type: "keyword" } } } });
    const app = makeApp();
    const conn = app.pumpService.addConnection(new ElasticSearchConnection(app, "ES", { config: { url: ES_URL, bulk_out_max_size: 1024 * 1024 } }));
    const { pipeline, source } = addPipeline(app, "P", (p) => [new ElasticSearchSink(app, p, "ES", { config: { index } })]);
    source.items = range(100_000, (i) => ({ _id: `doc-${i}`, n: i, name: `event ${i}` }));
    // The dashboard's view of the sink: bulks in flight while it writes, none once it stopped.
    const sink = pipeline.processors.at(-1)!.at(-1)! as ElasticSearchSink;
    let inFlightSeen = 0;
    const watch = setInterval(() => (inFlightSeen = Math.max(inFlightSeen, (sink.describe() as { InFlightBulks: number }).InFlightBulks)), 5);
    assert.equal(await runApp(app), 0);
    clearInterval(watch);
    assert.ok(inFlightSeen >= 1, "bulks were seen in flight");
    assert.deepEqual([sink.describe().InFlightBulks, sink.describe().QueuedBulks], [0, 0]);
    assert.equal(pipeline.isError(), false);
    assert.equal(source.sent, 100_000);
    assert.equal(source.settled, 100_000);
    assert.equal(source.failed, 0);
    assert.equal(source.receiptsDone, source.receiptsMade);
    assert.equal(conn.ok, 100_000);
    assert.equal(conn.fail, 0);
    assert.equal(await count(index), 100_000);
    const sum = await es.json<{ aggregations: { s: { value: number } } }>("POST", `${index}/_search`, { size: 0, aggs: { s: { sum: { field: "n" } } } });
    assert.equal(sum.aggregations.s.value, (99_999 * 100_000) / 2);
    const doc = await es.json<{ _source: Record<string, unknown> }>("GET", `${index}/_doc/doc-42`);
    assert.deepEqual(doc._source, { n: 42, name: "event 42" }, "_id is removed from the document");
  });
});

describe("ElasticSearchSink: index names, actions, refused items", () => {
  test("date-pattern index names from the event time; es_index from the context wins", async () => {
    const base = uniqueName("bspump-dated");
    created.push(`${base}-*`);
    const app = makeApp();
    app.pumpService.addConnection(new ElasticSearchConnection(app, "ES", { config: { url: ES_URL } }));
    const { pipeline, source } = addPipeline(app, "P", (p) => [new ElasticSearchSink(app, p, "ES", { config: { index: `${base}-%Y.%m.%d`, time_field: "@timestamp" } })]);
    const days = ["2024-02-28T10:00:00Z", "2024-02-29T23:59:59Z", "2024-03-01T00:00:00Z"];
    source.items = range(30, (i) => ({ _id: String(i), "@timestamp": days[i % 3], n: i }));
    assert.equal(await runApp(app), 0);
    assert.equal(pipeline.isError(), false);
    assert.equal(await count(`${base}-2024.02.28`), 10);
    assert.equal(await count(`${base}-2024.02.29`), 10);
    assert.equal(await count(`${base}-2024.03.01`), 10);

    // epoch seconds and milliseconds; the context's es_index
    const app2 = makeApp();
    app2.pumpService.addConnection(new ElasticSearchConnection(app2, "ES", { config: { url: ES_URL } }));
    const p2 = addPipeline(app2, "P", (p) => [new ElasticSearchSink(app2, p, "ES", { config: { index: `${base}-%Y.%m.%d-%H`, time_field: "t" } })]);
    p2.source.items = [
      { t: 1709251200, n: 1 }, // 2024-03-01T00:00:00Z, seconds
      { t: 1709254800000, n: 2 }, // 2024-03-01T01:00:00Z, milliseconds
    ];
    assert.equal(await runApp(app2), 0);
    assert.equal(await count(`${base}-2024.03.01-00`), 1);
    assert.equal(await count(`${base}-2024.03.01-01`), 1);
  });

  test("every action: index, create, create_or_index, update (doc_as_upsert), delete", async () => {
    const index = uniqueName("bspump-actions");
    created.push(index);
    await createIndex(index);
    const run = async (action: string, items: Record<string, unknown>[], soft = false) => {
      const app = makeApp();
      app.pumpService.addConnection(new ElasticSearchConnection(app, "ES", { config: { url: ES_URL } }));
      const r = addPipeline(app, "P", (p) => [new ElasticSearchSink(app, p, "ES", { id: "Sink", config: { index, action } })]);
      if (soft) r.pipeline.handleError = () => true;
      r.source.items = items;
      assert.equal(await runApp(app), 0);
      return r;
    };
    // index: creates and overwrites
    let r = await run("index", [{ _id: "a", v: 1 }, { _id: "b", v: 1 }, { _id: "a", v: 2, extra: true }]);
    assert.equal(r.source.settled, 3);
    assert.equal(await count(index), 2);
    assert.deepEqual((await es.json<{ _source: object }>("GET", `${index}/_doc/a`))._source, { v: 2, extra: true });
    // create: refuses an existing id per item (version conflict), writes the new one
    r = await run("create", [{ _id: "a", v: 3 }, { _id: "c", v: 1 }], true);
    assert.equal(r.source.settled, 2, "a soft (handleError) failure settles");
    assert.equal(r.pipeline.warnings >= 1, true);
    const sink = r.pipeline.locateProcessor("Sink") as ElasticSearchSink;
    assert.equal(sink.failed, 1);
    assert.equal(sink.connection.fail, 1);
    assert.equal(sink.connection.ok, 1);
    assert.deepEqual((await es.json<{ _source: object }>("GET", `${index}/_doc/a`))._source, { v: 2, extra: true });
    // create_or_index without an id: create with a generated id
    r = await run("create_or_index", [{ v: 9 }, { _id: "d", v: 4 }]);
    assert.equal(await count(index), 5);
    // update with doc_as_upsert: merges into a, creates e
    r = await run("update", [{ _id: "a", w: 7 }, { _id: "e", w: 1 }]);
    assert.equal(r.source.settled, 2);
    assert.deepEqual((await es.json<{ _source: object }>("GET", `${index}/_doc/a`))._source, { v: 2, extra: true, w: 7 });
    assert.deepEqual((await es.json<{ _source: object }>("GET", `${index}/_doc/e`))._source, { w: 1 });
    // delete
    r = await run("delete", [{ _id: "a" }, { _id: "b" }]);
    assert.equal(r.source.settled, 2);
    assert.equal(await count(index), 4);
    assert.equal((await es.request("GET", `${index}/_doc/a`)).status, 404);
  });

  test("a mapping conflict is reported per item: dead-lettered with its reason, the rest written", async () => {
    const index = uniqueName("bspump-conflict");
    created.push(index);
    await createIndex(index, { mappings: { properties: { n: { type: "long" } } } });
    const app = makeApp();
    app.pumpService.addConnection(new ElasticSearchConnection(app, "ES", { config: { url: ES_URL } }));
    const dead: unknown[] = [];
    const { Pipeline: P, Sink } = await import("../../src/core/index.js");
    class Collect extends Sink {
      process(_c: unknown, e: unknown): null {
        dead.push(e);
        return null;
      }
    }
    const dl = new P(app, "Dead");
    dl.build([], new Collect(app, dl));
    app.pumpService.addPipeline(dl);
    const { pipeline, source } = addPipeline(app, "P", (p) => [new ElasticSearchSink(app, p, "ES", { id: "Sink", config: { index, dead_letter: "Dead" } })]);
    source.items = range(1000, (i) => ({ _id: `x${i}`, n: i % 100 === 7 ? `not a number ${i}` : i }));
    assert.equal(await runApp(app), 0);
    assert.equal(pipeline.isError(), false);
    assert.equal(await count(index), 990);
    assert.equal(dead.length, 10);
    // The dead-letter pipeline counts its copies on the same receipt (+10), as the core does.
    assert.equal(source.settled, 1010, "dead-lettered items are settled");
    assert.equal(source.failed, 0);
    assert.equal(source.receiptsDone, source.receiptsMade);
    const first = dead[0] as { event: { n: unknown }; elasticsearch: { id: string; status: number; type: string; reason: string } };
    assert.equal(first.elasticsearch.id, "x7");
    assert.equal(first.elasticsearch.status, 400);
    assert.equal(first.elasticsearch.type, "mapper_parsing_exception");
    assert.match(first.elasticsearch.reason, /\[n\]/);
    assert.deepEqual(first.event, { n: "not a number 7" });
    const sink = pipeline.locateProcessor("Sink") as ElasticSearchSink;
    assert.equal(sink.connection.ok, 990);
    assert.equal(sink.connection.fail, 10);
    assert.equal(sink.deadLettered, 10);
  });

  test("without a dead-letter target, a refused item fails its receipt and sets the pipeline error", async () => {
    const index = uniqueName("bspump-conflict-hard");
    created.push(index);
    await createIndex(index, { mappings: { properties: { n: { type: "long" } } } });
    const app = makeApp();
    app.pumpService.addConnection(new ElasticSearchConnection(app, "ES", { config: { url: ES_URL } }));
    const { pipeline, source } = addPipeline(app, "P", (p) => [new ElasticSearchSink(app, p, "ES", { config: { index } })]);
    source.batch = 10;
    source.items = range(10, (i) => ({ _id: `y${i}`, n: i === 3 ? "bad" : i }));
    assert.equal(await runApp(app), 0);
    assert.equal(source.settled, 9);
    assert.equal(source.failed, 1);
    assert.equal(pipeline.isError(), true);
    assert.match(pipeline.error!.error.message, /mapper_parsing_exception/);
    assert.equal(await count(index), 9);
  });
});
