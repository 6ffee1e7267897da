// @services opensearch
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { PumpBuilder } from "../../src/declarative/index.js";
import { ElasticSearchLookup, ElasticSearchSink, ElasticSearchSource } from "../../src/elasticsearch/index.js";
import { count, createIndex, deleteIndex, ES_URL, makeApp, runApp, seed, uniqueName } from "./helpers.js";

const from = uniqueName("bspump-yaml-from");
const to = uniqueName("bspump-yaml-to");
after(async () => {
  await deleteIndex(from);
  await deleteIndex(to);
});

test("a YAML application copies an index with ElasticSearchSource → ElasticSearchSink, and builds the lookup", async () => {
  await createIndex(from, { mappings: { properties: { n: { type: "long" } } } });
  await seed(from, 3000, (i) => ({ n: i }));
  const yaml = `
connections:
  - {id: ES, class: elasticsearch.ElasticSearchConnection, config: {url: "${ES_URL}", bulk_out_max_size: 65536}}
lookups:
  - {id: Docs, class: elasticsearch.ElasticSearchLookup, args: {connection: ES}, config: {index: "${from}", key: n}}
pipelines:
  - id: Copy
    sources:
      - {id: Src, class: elasticsearch.ElasticSearchSource, args: {connection: ES}, config: {index: "${from}", timestamp: "", sort_by: n, size: 700}, trigger: {class: RunOnceTrigger}}
    sink: {id: Sink, class: elasticsearch.ElasticSearchSink, args: {connection: ES}, config: {index: "${to}", action: index}}
`;
  const app = makeApp();
  await new PumpBuilder("copy.yaml", yaml).constructPump(app);
  const pipeline = app.pumpService.locatePipeline("Copy")!;
  assert.ok(pipeline.locateSource("Src") instanceof ElasticSearchSource);
  assert.ok(pipeline.locateProcessor("Sink") instanceof ElasticSearchSink);
  const lookup = app.pumpService.locateLookup<ElasticSearchLookup>("Docs");
  assert.ok(lookup instanceof ElasticSearchLookup);
  assert.equal(await runApp(app), 0);
  assert.equal(pipeline.isError(), false);
  assert.equal(await count(to), 3000);
  assert.deepEqual(await lookup.get(2999), { n: 2999 });
});

test("YAML: a sink without its connection argument is a clear error", async () => {
  const yaml = `
connections:
  - {id: ES, class: elasticsearch.ElasticSearchConnection, config: {url: "${ES_URL}"}}
pipelines:
  - id: P
    sources: [{class: elasticsearch.ElasticSearchSource, args: {connection: ES}, trigger: {class: RunOnceTrigger}}]
    sink: {class: elasticsearch.ElasticSearchSink}
`;
  await assert.rejects(new PumpBuilder("bad.yaml", yaml).constructPump(makeApp()), /bad\.yaml:\d+.*args\.connection/);
});
