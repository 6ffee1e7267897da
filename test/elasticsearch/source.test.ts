// @services opensearch
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, Pipeline, RunOnceTrigger, Sink, type EventContext } from "../../src/core/index.js";
import { ElasticSearchAggsSource, ElasticSearchConnection, ElasticSearchLookup, ElasticSearchSource } from "../../src/elasticsearch/index.js";
import { createIndex, deleteIndex, ES_URL, runApp, seed, uniqueName } from "./helpers.js";

class Collect extends Sink {
  readonly events: Record<string, unknown>[] = [];
  readonly contexts: EventContext[] = [];
  process(context: EventContext, event: unknown): null {
    this.events.push(event as Record<string, unknown>);
    this.contexts.push(context);
    return null;
  }
}

const index = uniqueName("bspump-source");
before(async () => {
  await createIndex(index, { mappings: { properties: { n: { type: "long" }, group: { type: "keyword" }, name: { type: "keyword" }, "@timestamp": { type: "date" } } } });
  await seed(index, 50_000, (i) => ({ n: i, group: `g${i % 5}`, name: `name-${i}`, "@timestamp": new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString() }), (i) => `id-${String(i).padStart(6, "0")}`);
});
after(() => deleteIndex(index));

function app(): BSPumpApplication {
  const a = new BSPumpApplication({ args: [], config: Config.fromString("", "<test>"), handleSignals: false });
  a.pumpService.addConnection(new ElasticSearchConnection(a, "ES", { config: { url: ES_URL } }));
  return a;
}

async function runSource(make: (a: BSPumpApplication, p: Pipeline) => ElasticSearchSource | ElasticSearchAggsSource): Promise<{ sink: Collect; source: ElasticSearchSource | ElasticSearchAggsSource; pipeline: Pipeline }> {
  const a = app();
  const pipeline = new Pipeline(a, "P");
  const source = make(a, pipeline);
  source.on(new RunOnceTrigger(a));
  const sink = new Collect(a, pipeline);
  pipeline.build(source, sink);
  a.pumpService.addPipeline(pipeline);
  assert.equal(await runApp(a, 120), 0);
  assert.equal(pipeline.isError(), false);
  return { sink, source, pipeline };
}

function assertAllOnce(events: Record<string, unknown>[], n: number): void {
  assert.equal(events.length, n);
  const seen = new Uint8Array(n);
  for (const e of events) seen[e.n as number]!++;
  assert.equal(seen.every((c) => c === 1), true, "every document exactly once");
}

describe("ElasticSearchSource", () => {
  test("pages through 50,000 hits with search_after, then continues after the last hit", async () => {
    let src: ElasticSearchSource | undefined;
    const { sink } = await runSource((a, p) => (src = new ElasticSearchSource(a, p, "ES", { config: { index, timestamp: "", size: 2000 } })));
    assertAllOnce(sink.events, 50_000);
    assert.deepEqual(sink.events[0], { n: 0, group: "g0", name: "name-0", "@timestamp": "2024-01-01T00:00:00.000Z" });
    assert.deepEqual(sink.contexts[0]!.es_hit, { index, id: "id-000000" });
    assert.deepEqual(src!.lastHitSort, ["id-049999"]);
    // A later cycle continues after the last document seen: nothing new, nothing emitted.
    await src!.cycle();
    assert.equal(src!.emitted, 50_000);
  });

  test("pages through 50,000 hits with the scroll API", async () => {
    const { sink } = await runSource((a, p) => new ElasticSearchSource(a, p, "ES", { config: { index, timestamp: "", size: 5000, scroll: "1m" } }));
    assertAllOnce(sink.events, 50_000);
  });

  test("the default query is a time range from start_from; request_body and paging=false", async () => {
    // 2024-01-01T13:50:00Z is n = 49,800: the last 200 documents.
    let r = await runSource((a, p) => new ElasticSearchSource(a, p, "ES", { config: { index, start_from: "2024-01-01T13:50:00Z", sort_by: "n" } }));
    assert.equal(r.sink.events.length, 200);
    assert.equal(r.sink.events[0]!.n, 49_800);
    r = await runSource((a, p) => new ElasticSearchSource(a, p, "ES", { config: { index, request_body: JSON.stringify({ query: { term: { group: "g3" } }, sort: [{ n: "desc" }] }), size: 100 }, paging: false }));
    assert.equal(r.sink.events.length, 100, "one page only");
    assert.equal(r.sink.events[0]!.n, 49_998);
  });
});

describe("ElasticSearchAggsSource", () => {
  test("aggregation buckets become flat events", async () => {
    const { sink } = await runSource(
      (a, p) =>
        new ElasticSearchAggsSource(a, p, "ES", {
          config: { index },
          requestBody: { aggs: { group: { terms: { field: "group" }, aggs: { total: { sum: { field: "n" } }, top: { max: { field: "n" } } } } } },
        }),
    );
    assert.equal(sink.events.length, 10);
    const g1 = sink.events.filter((e) => e.group === "g1");
    // sum of n where n % 5 == 1, n < 50,000: 1 + 6 + ... + 49,996
    assert.deepEqual(g1, [
      { group: "g1", total: (10_000 * (1 + 49_996)) / 2 },
      { group: "g1", top: 49_996 },
    ]);
    const { sink: s2 } = await runSource((a, p) => new ElasticSearchAggsSource(a, p, "ES", { config: { index, request_body: JSON.stringify({ aggs: { group: { terms: { field: "group" } } } }) } }));
    assert.deepEqual(
      s2.events.sort((x, y) => String(x.group).localeCompare(String(y.group))),
      [0, 1, 2, 3, 4].map((g) => ({ group: `g${g}`, doc_count: 10_000 })),
    );
  });
});

describe("ElasticSearchLookup", () => {
  test("key → document, a bounded cache, misses not cached, construct() by connection id", async () => {
    const a = app();
    const lookup = ElasticSearchLookup.construct(a, { id: "L", args: { connection: "ES" }, config: { index, key: "name", cache_size: 3 } }) as ElasticSearchLookup;
    assert.equal(lookup.connection, a.pumpService.locateConnection("ES"));
    const doc = await lookup.get("name-123");
    assert.deepEqual(doc, { n: 123, group: "g3", name: "name-123", "@timestamp": "2024-01-01T00:02:03.000Z" });
    assert.equal(lookup.has("name-123"), true);
    assert.deepEqual(lookup.getCached("name-123"), doc);
    assert.equal(await lookup.get("nope"), null);
    assert.equal(lookup.has("nope"), false);
    const [x, y] = await Promise.all([lookup.get("name-1"), lookup.get("name-1")]);
    assert.equal(x, y, "concurrent gets share one request");
    await lookup.get("name-2");
    await lookup.get("name-3");
    assert.equal(lookup.size, 3, "bounded cache");
    assert.equal(lookup.has("name-123"), false, "least recently used went first");
    assert.equal(lookup.cacheCounter.values.hit, 0);
    assert.equal(lookup.cacheCounter.values.miss, 6);
    assert.equal(lookup.successCounter.values.hit, 4, "the two concurrent gets made one request");
    assert.equal(lookup.successCounter.values.miss, 1);
    const copy = new ElasticSearchLookup(a, "ES", "L2", { config: { index, key: "name" } });
    copy.deserialize(lookup.serialize());
    assert.deepEqual(copy.getCached("name-3"), await lookup.get("name-3"));
    const pre = new ElasticSearchLookup(a, "ES", "L3", { config: { index, key: "name", preload: true, cache_size: 60_000 } });
    assert.equal(await pre.load(), true);
    assert.equal(pre.size, 50_000);
    assert.equal(pre.getCached("name-49999")!.n, 49_999);
    a.pumpService.locateConnection<ElasticSearchConnection>("ES").client.close();
  });
});
