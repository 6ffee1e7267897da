import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { OpportunisticTrigger, PeriodicTrigger, Pipeline, RunOnceTrigger, type EventContext } from "../../src/index.js";
import * as common from "../../src/common/index.js";
import { runPipeline, runProcessor, UnitTestSink } from "../../src/unittest/index.js";
import { BatchSource, BufferedSink, CollectSink, runUntil, sleep, testApp, until } from "../helpers/components.js";

test("JSON parsers: text or bytes in, objects out; bad input is a pipeline error, not a crash", async () => {
  const ok = await runProcessor(common.StdJsonToDictParser, [
    [null, '{"a":1}'],
    [null, Buffer.from('{"b":[1,2]}')],
  ]);
  assert.deepEqual(ok.events, [{ a: 1 }, { b: [1, 2] }]);
  const bad = await runProcessor(common.JSONParserProcessor, [
    [null, '{"a":1}'],
    [null, "{nope"],
  ]);
  assert.deepEqual(bad.events, [{ a: 1 }]);
  assert.equal(bad.pipeline.isError(), true);
  assert.equal(bad.pipeline.errors, 1);
  const wrongType = await runProcessor(common.StdJsonToDictParser, [[null, 42]]);
  assert.match(wrongType.pipeline.error!.error.message, /expects a string or bytes, got number/);
});

test("serializers and byte/string conversions", async () => {
  // BSPump's json.dumps form by default; JSON.stringify's with json_format = compact.
  assert.deepEqual((await runProcessor(common.StdDictToJsonParser, [[null, { foo: "bar", "é": [1, 2] }]])).events, ['{"foo": "bar", "\\u00e9": [1, 2]}']);
  assert.deepEqual((await runProcessor(common.DictToJsonParser, [[null, { foo: "bar" }]], { config: { json_format: "compact" } })).events, ['{"foo":"bar"}']);
  const bytes = (await runProcessor(common.DictToJsonBytesParser, [[null, { a: 1, b: "ž" }]])).events[0] as Buffer;
  assert.equal(bytes.toString(), '{"a": 1, "b": "\\u017e"}');
  const compact = (await runProcessor(common.DictToJsonBytesParser, [[null, { a: 1, b: "ž" }]], { config: { json_format: "compact" } })).events[0] as Buffer;
  assert.equal(compact.toString(), '{"a":1,"b":"ž"}');
  assert.equal(((await runProcessor(common.StringToBytesParser, [[null, "žluť"]])).events[0] as Buffer).toString("utf8"), "žluť");
  assert.equal((await runProcessor(common.BytesToStringParser, [[null, Buffer.from("abc")]])).events[0], "abc");
  assert.equal(((await runProcessor(common.HexlifyProcessor, [[null, Buffer.from([0x12, 0x34, 0x56, 0x78])]])).events[0] as Buffer).toString(), "12345678");
  assert.equal((await runProcessor(common.StringToBytesParser, [[null, 5]])).pipeline.isError(), true);
});

test("FlattenDictProcessor joins nested keys; empty nested objects and arrays stay values", async () => {
  const r = await runProcessor(common.FlattenDictProcessor, [[null, { a: { b: 1, c: { d: 2 } }, e: {}, f: [1, { g: 2 }], h: 0 }]], { config: { separator: "_" } });
  assert.deepEqual(r.events[0], { a_b: 1, a_c_d: 2, e: {}, f: [1, { g: 2 }], h: 0 });
});

test("mapping processors and generators", async () => {
  const ev = { x: 1, y: 2 };
  assert.deepEqual((await runProcessor(common.MappingKeysProcessor, [[null, ev]])).events[0], ["x", "y"]);
  assert.deepEqual((await runProcessor(common.MappingValuesProcessor, [[null, ev]])).events[0], [1, 2]);
  assert.deepEqual((await runProcessor(common.MappingItemsProcessor, [[null, ev]])).events[0], [["x", 1], ["y", 2]]);
  const gen = (G: new (...a: never[]) => unknown) =>
    runPipeline([[null, ev]], (app, p) => [new (G as typeof common.MappingKeysGenerator)(app, p), new UnitTestSink(app, p)]);
  assert.deepEqual((await gen(common.MappingKeysGenerator)).events, ["x", "y"]);
  assert.deepEqual((await gen(common.MappingValuesGenerator)).events, [1, 2]);
  assert.deepEqual((await gen(common.MappingItemsGenerator)).events, [["x", 1], ["y", 2]]);
  const iter = await runPipeline([[null, "abc"], [null, [1, 2]]], (app, p) => [new common.IteratorGenerator(app, p), new UnitTestSink(app, p)]);
  assert.deepEqual(iter.events, ["a", "b", "c", 1, 2]);
});

class Upper extends common.MappingTransformator {
  build(): Record<string, common.KeyTransform> {
    return { name: (k, v) => [k.toUpperCase(), String(v).toUpperCase()] };
  }
}

test("MappingTransformator rewrites keys that have a function and passes the rest", async () => {
  const r = await runProcessor(Upper, [[null, { name: "ann", age: 3 }]]);
  assert.deepEqual(r.events[0], { NAME: "ANN", age: 3 });
});

test("print sinks and processors write to the given stream", async () => {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (d: Buffer) => chunks.push(d.toString()));
  const r = await runPipeline([[{ k: 1 }, { a: 1 }]], (app, p) => [
    new common.PrintProcessor(app, p, { stream }),
    new common.PrintContextProcessor(app, p, { stream }),
    new common.PPrintProcessor(app, p, { stream }),
    new common.PrintSink(app, p, { stream }),
  ]);
  assert.equal(r.pipeline.eventOut, 1);
  const text = chunks.join("");
  assert.match(text, /^\{ a: 1 \}\n/);
  assert.match(text, /k: 1/);
  assert.equal(text.split("\n").filter(Boolean).length >= 4, true);
});

test("IteratorSource feeds an iterable per trigger cycle; RunOnceTrigger stops the app afterwards", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const sink = new CollectSink(app, p);
  p.build(new common.IteratorSource(app, p, () => [1, 2, 3]).on(new RunOnceTrigger(app)), sink);
  app.pumpService.addPipeline(p);
  assert.equal(await app.run(), 0);
  assert.deepEqual(sink.events, [1, 2, 3]);
});

test("PeriodicTrigger runs cycles repeatedly; OpportunisticTrigger waits the chilldown period", async () => {
  const app = testApp();
  const p = new Pipeline(app, "P");
  const sink = new CollectSink(app, p);
  const q = new Pipeline(app, "Q");
  const qsink = new CollectSink(app, q);
  p.build(new common.IteratorSource(app, p, () => ["tick"]).on(new PeriodicTrigger(app, 0.02)), sink);
  q.build(new common.IteratorSource(app, q, () => ["op"]).on(new OpportunisticTrigger(app, { chilldownPeriod: 60 })), qsink);
  app.pumpService.addPipelines(p, q);
  await runUntil(app, () => sink.events.length >= 5);
  assert.equal(qsink.events.length, 1, "ran immediately once, then waits 60 s");
});

test("Aggregator: by size, the remainder on stop; the aggregated events' receipts settle with the aggregate", async () => {
  const app = testApp("[pipeline:P:Aggregator]\ncompletion_size = 4\n");
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  source.batchSize = 5;
  const sink = new BufferedSink(app, p);
  p.build(source, new common.Aggregator(app, p, { aggregationStrategy: new common.ListEventAggregationStrategy() }), sink);
  app.pumpService.addPipeline(p);
  const running = app.run();
  await until(() => p.eventIn === 10);
  assert.equal(source.completions, 0, "nothing delivered yet: the sink holds the aggregates");
  app.stop();
  assert.equal(await running, 0);
  assert.deepEqual(sink.written, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]);
  assert.equal(source.completions, 2);
  assert.ok(source.batches.every((b) => b.error === null));
});

test("Aggregator with completion_timeout flushes on the tick; StringAggregationStrategy joins", async () => {
  const app = testApp("[pipeline:P:Aggregator]\ncompletion_size = 100\ncompletion_timeout = 1\n");
  let now = 1000;
  app.clock = () => now;
  const p = new Pipeline(app, "P");
  const source = new BatchSource(app, p);
  source.events = ["one", "two", "three"];
  const sink = new CollectSink(app, p);
  p.build(source, new common.Aggregator(app, p, { aggregationStrategy: new common.StringAggregationStrategy(";") }), sink);
  app.pumpService.addPipeline(p);
  const running = app.run();
  await until(() => p.eventIn === 3);
  now += 2;
  app.pubsub.publish("Application.tick!");
  assert.deepEqual(sink.events, ["one;two;three"]);
  app.stop();
  await running;
  assert.throws(() => new common.Aggregator(app, p, { config: { completion_timeout: 1, completion_interval: 1 } }), /not both/);
});

class ByParity extends common.RouterSink {
  process(context: EventContext, event: number): null {
    this.route(context, event, event % 2 === 0 ? "Even.*InternalSource" : "Odd.*InternalSource");
    return null;
  }
}

test("RouterSink routes to InternalSources; receipts settle only when the target pipelines delivered", async () => {
  const app = testApp();
  const main = new Pipeline(app, "Main");
  const source = new BatchSource(app, main);
  source.events = Array.from({ length: 50 }, (_, i) => i);
  main.build(source, new ByParity(app, main));
  const even = new Pipeline(app, "Even");
  const evenSink = new BufferedSink(app, even);
  even.build(new common.InternalSource(app, even), evenSink);
  const odd = new Pipeline(app, "Odd");
  const oddSink = new CollectSink(app, odd);
  odd.build(new common.InternalSource(app, odd), oddSink);
  app.pumpService.addPipelines(main, even, odd);
  const running = app.run();
  await until(() => oddSink.events.length === 25);
  assert.equal(source.completions, 0, "even events wait in the buffered sink");
  app.stop();
  assert.equal(await running, 0);
  assert.deepEqual(evenSink.written, Array.from({ length: 25 }, (_, i) => i * 2));
  assert.deepEqual(oddSink.events, Array.from({ length: 25 }, (_, i) => i * 2 + 1));
  assert.equal(source.completions, 5);
  assert.equal((oddSink.contexts[0]!.ancestor as EventContext).n, 1, "the upstream context is the ancestor");
});

test("a back-pressured InternalSource throttles the routing pipeline; nothing is lost", async () => {
  const app = testApp("[pipeline:Slow:InternalSource]\nqueue_max_size = 4\n");
  const main = new Pipeline(app, "Main");
  const source = new BatchSource(app, main);
  source.events = Array.from({ length: 200 }, (_, i) => i);
  source.batchSize = 200;
  class ToSlow extends common.RouterSink {
    process(context: EventContext, event: unknown): null {
      this.route(context, event, "Slow.*InternalSource", false);
      return null;
    }
  }
  main.build(source, new ToSlow(app, main));
  const slow = new Pipeline(app, "Slow");
  const slowSink = new CollectSink(app, slow);
  const pauser = new (class extends common.RouterProcessor {
    process(_c: EventContext, e: unknown): unknown {
      return new Promise((resolve) => setTimeout(() => resolve(e), 1));
    }
  })(app, slow);
  slow.build(new common.InternalSource(app, slow), pauser, slowSink);
  let throttled = 0;
  main.pubsub.subscribe("bspump.pipeline.not_ready!", () => throttled++);
  app.pumpService.addPipelines(main, slow);
  await runUntil(app, () => slowSink.events.length === 200, 20000);
  assert.ok(throttled > 0, "the routing pipeline was throttled");
  assert.deepEqual([...(slowSink.events as number[])].sort((a, b) => a - b), source.events);
});

test("TeeProcessor copies events to a TeeSource's pipeline and passes the original on", async () => {
  const app = testApp();
  const main = new Pipeline(app, "Main");
  const source = new BatchSource(app, main);
  source.events = [{ v: 1 }, { v: 2 }];
  const mainSink = new CollectSink(app, main);
  main.build(source, new common.TeeProcessor(app, main), mainSink);
  const branch = new Pipeline(app, "Branch");
  const branchSink = new CollectSink(app, branch);
  branch.build(new common.TeeSource(app, branch).bind("Main.TeeProcessor"), branchSink);
  app.pumpService.addPipelines(branch, main);
  await sleep(0);
  await runUntil(app, () => branchSink.events.length === 2 && mainSink.events.length === 2);
  assert.deepEqual(branchSink.events, [{ v: 1 }, { v: 2 }]);
  assert.notEqual(branchSink.events[0], mainSink.events[0], "the branch got a copy");
});

test("DirectSource processes synchronously, like a function call", async () => {
  const app = testApp();
  const p = new Pipeline(app, "Direct");
  const direct = new common.DirectSource(app, p);
  const sink = new CollectSink(app, p);
  p.build(direct, sink);
  app.pumpService.addPipeline(p);
  const running = app.run();
  await until(() => p.isReady());
  direct.put({ from: "caller" }, "now");
  assert.deepEqual(sink.events, ["now"]);
  assert.equal((sink.contexts[0]!.ancestor as EventContext).from, "caller");
  app.stop();
  await running;
});

test("TimeZoneNormalizer turns naive wall-clock times of a zone into UTC, across DST", async () => {
  class Normalize extends common.TimeZoneNormalizer {
    process(_c: EventContext, e: unknown): unknown {
      return new Date(this.normalize(Date.parse(`${e as string}Z`))).toISOString();
    }
  }
  const r = await runProcessor(Normalize, [[null, "2000-12-30T23:59:59.000"], [null, "2021-07-01T12:00:00.000"]], { config: { timezone: "Europe/Prague" } });
  assert.deepEqual(r.events, ["2000-12-30T22:59:59.000Z", "2021-07-01T10:00:00.000Z"]);
});
