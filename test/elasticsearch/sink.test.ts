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
    assert.equal(await runApp(app), 0);
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
