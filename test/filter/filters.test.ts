import { test } from "node:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, ConfigError, Pipeline, type EventContext } from "../../src/core/index.js";
import { QueryError } from "../../src/common/index.js";
import { AttributeFilter, ContentFilter, TimeDriftFilter } from "../../src/filter/index.js";
import { DictionaryLookup } from "../../src/lookup/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { runPipeline, runProcessor, UnitTestSink } from "../../src/unittest/index.js";

const LOGS = [
  { host: "db1", level: "error", code: 500, user: "ann" },
  { host: "web1", level: "info", code: 200 },
  { host: "web2", level: "warn", code: 404, user: "bob" },
  { host: "db2", level: "error", code: 503 },
];
const copy = () => LOGS.map((e) => ({ ...e }));

test("ContentFilter: on_hit and on_miss pass the event by default; on_miss 'drop' makes a drop filter", async () => {
  const all = await runProcessor(ContentFilter, copy().map((e) => [null, e] as const), { query: { level: "error" } });
  assert.deepEqual(all.events, LOGS, "BSPump's defaults: every event passes, matching or not");
  const kept = await runProcessor(ContentFilter, copy().map((e) => [null, e] as const), { query: { level: "error", code: { $gte: 503 } }, onMiss: "drop" });
  assert.deepEqual(kept.events, [LOGS[3]]);
  assert.equal(kept.pipeline.eventIn, 4);
  assert.equal(kept.pipeline.eventDrop, 3);
  const inverse = await runProcessor(ContentFilter, copy().map((e) => [null, e] as const), { query: { level: "error" }, onHit: "drop" });
  assert.deepEqual(inverse.events, [LOGS[1], LOGS[2]]);
  const empty = await runProcessor(ContentFilter, copy().map((e) => [null, e] as const), { onMiss: "drop" });
  assert.deepEqual(empty.events, LOGS, "the default query {} matches everything");
});

test("ContentFilter: BSPump's hooks — a subclass overrides on_hit / on_miss; function options work too", async () => {
  class Tagger extends ContentFilter {
    override onHit(_context: EventContext, event: unknown): unknown {
      return { ...(event as object), alert: true };
    }
    override onMiss(): unknown {
      return null;
    }
  }
  const r = await runPipeline(copy().map((e) => [null, e] as const), (app, pipeline) => [
    new Tagger(app, pipeline, { query: { $or: [{ code: { $gte: 500 } }, { user: "bob" }] } }),
    new UnitTestSink(app, pipeline),
  ]);
  assert.deepEqual(r.events, [{ ...LOGS[0], alert: true }, { ...LOGS[2], alert: true }, { ...LOGS[3], alert: true }]);
  const seen: unknown[] = [];
  const f = await runProcessor(ContentFilter, copy().map((e) => [{ n: 1 }, e] as const), {
    query: { user: { $exists: true } },
    onHit: (context: EventContext, event: unknown) => (seen.push(context.n), (event as { user: string }).user),
    onMiss: "drop",
  });
  assert.deepEqual(f.events, ["ann", "bob"]);
  assert.deepEqual(seen, [1, 1]);
});

test("ContentFilter: events without the attribute, or not dicts, simply do not match (no error)", async () => {
  const input = [{ other: 1 }, "a line", 42, null, [1, 2], Buffer.from("x"), { code: "500" }, { code: 501 }];
  const r = await runProcessor(ContentFilter, input.map((e) => [null, e] as const), { query: { code: { $gt: 500 } }, onMiss: "drop" });
  assert.deepEqual(r.events, [{ code: 501 }]);
  assert.equal(r.pipeline.errors, 0);
  assert.equal(r.pipeline.isError(), false);
});

test("ContentFilter: a malformed query is a QueryError (a ConfigError) at construction, naming the component", () => {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("", "t.conf"), handleSignals: false });
  const pipeline = new Pipeline(app, "P");
  assert.throws(() => new ContentFilter(app, pipeline, { id: "F", query: { code: { $in: null } } as never }), (e: Error) =>
    e instanceof QueryError && e instanceof ConfigError && /^\[pipeline:P:F\] query: code: \$in needs a list, got null$/.test(e.message));
  assert.throws(() => new ContentFilter(app, pipeline, { query: { $bogus: 1 } }), /\[pipeline:P:ContentFilter\] query: unknown operator '\$bogus'/);
  assert.throws(() => new ContentFilter(app, pipeline, { query: { a: 1 }, onMiss: "dorp" as never }), /on_miss must be "pass", "drop" or a function/);
});

test("ContentFilter from YAML: query and on_miss as args; a bad query names the file and line", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "bspump-filter-")), "out.jsonl");
  const yaml = (query: string) => `
pipelines:
  - id: Alerts
    sources:
      - class: random.RandomSource
        config: {field: code, number: 300, lower_bound: 100, upper_bound: 599, event_idle_time: 0}
        trigger: {class: PubSubTrigger, args: {message_types: "Application.run!"}}
    processors:
      - class: filter.ContentFilter
        args:
          query: ${query}
          on_miss: drop
    sink:
      class: file.FileJSONSink
      config: {path: ${JSON.stringify(out)}, flush_period: 0}
`;
  const app = new BSPumpApplication({ args: [], config: Config.fromString("", "t.conf"), handleSignals: false });
  app.logs.writer = () => {};
  await new PumpBuilder("alerts.yaml", yaml(`{code: {$gte: 500}}`)).constructPump(app);
  const pipeline = app.pumpService.locatePipeline("Alerts")!;
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
  assert.equal(await app.run(), 0);
  const codes = readFileSync(out, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { code: number }).code);
  assert.equal(pipeline.eventIn, 300);
  assert.ok(codes.length > 0 && codes.length < 300, `${codes.length} of 300 passed`);
  assert.ok(codes.every((c) => c >= 500));
  assert.equal(pipeline.eventDrop, 300 - codes.length);

  await assert.rejects(new PumpBuilder("bad.yaml", yaml(`{code: {$regex: 5}}`)).constructPump(new BSPumpApplication({ args: [], config: Config.fromString("", "t.conf"), handleSignals: false })),
    (e: Error) => e instanceof ConfigError && /^bad\.yaml:\d+: .*query: code: \$regex must be a string of the form/.test(e.message));
});

test("AttributeFilter: inclusive false removes the fields, true keeps only them; predicate and lookup hooks", async () => {
  const removed = await runProcessor(AttributeFilter, copy().map((e) => [null, e] as const), { fields: ["user", "code"] });
  assert.deepEqual(removed.events, LOGS.map(({ host, level }) => ({ host, level })));
  const kept = await runProcessor(AttributeFilter, copy().map((e) => [null, e] as const), { fields: ["host", "user"], inclusive: true });
  assert.deepEqual(kept.events, [{ host: "db1", user: "ann" }, { host: "web1" }, { host: "web2", user: "bob" }, { host: "db2" }]);
  const none = await runProcessor(AttributeFilter, copy().map((e) => [null, e] as const));
  assert.deepEqual(none.events, LOGS, "BSPump's get_fields returns no fields: nothing removed");
  const nothingKept = await runProcessor(AttributeFilter, copy().map((e) => [null, e] as const), { inclusive: true });
  assert.deepEqual(nothingKept.events, [{}, {}, {}, {}]);

  // A subclass choosing the fields per event from a lookup (what BSPump's `lookup` argument is for).
  class PerLevel extends AttributeFilter {
    override predicate(event: Record<string, unknown>): boolean {
      return event.level !== "info";
    }
    override getFields(event: Record<string, unknown>): ReadonlySet<string> {
      return new Set((this.lookup as DictionaryLookup).dictionary.get(event.level as string) as string[]);
    }
  }
  const r = await runPipeline(copy().map((e) => [null, e] as const), (app, pipeline) => {
    const lookup = new DictionaryLookup(app, "Private");
    lookup.dictionary.set("error", ["user"]);
    lookup.dictionary.set("warn", ["user", "code"]);
    app.pumpService.addLookup(lookup);
    return [new PerLevel(app, pipeline, { lookup: "Private" }), new UnitTestSink(app, pipeline)];
  });
  assert.deepEqual(r.events, [{ host: "db1", level: "error", code: 500 }, LOGS[1], { host: "web2", level: "warn" }, { host: "db2", level: "error", code: 503 }]);
});

test("AttributeFilter: an event that is not a dict is an error of that event (pipeline rules), not a crash", async () => {
  const r = await runProcessor(AttributeFilter, [[null, { a: 1, b: 2 }], [null, "text"]], { fields: ["b"] });
  assert.deepEqual(r.events, [{ a: 1 }]);
  assert.equal(r.pipeline.errors, 1);
  assert.match(r.pipeline.error!.error.message, /AttributeFilter 'AttributeFilter' expects a dict event, got string/);
});

test("TimeDriftFilter: drops events older than max_time_drift, passes the limit and the future, counts each", async () => {
  const now = 1_700_000_000;
  const input = [
    { "@timestamp": now - 10 },
    { "@timestamp": now - 60 }, // exactly the default limit: passes
    { "@timestamp": now - 60.5 },
    { "@timestamp": now + 3600 }, // the future always passes
    { other: 1 },
    { "@timestamp": "2024-01-01" },
    "not a dict",
    { "@timestamp": now - 1000 },
  ];
  const r = await runPipeline(input.map((e) => [null, e] as const), (app, pipeline) => {
    app.clock = () => now;
    return [new TimeDriftFilter(app, pipeline), new UnitTestSink(app, pipeline)];
  });
  assert.deepEqual(r.events, [input[0], input[1], input[3]]);
  const counter = (r.pipeline.processors[0]![0] as TimeDriftFilter).counter;
  assert.equal(counter.name, "timedriftfilter.status");
  assert.deepEqual(counter.tags, { pipeline: "UnitTestPipeline" });
  assert.deepEqual(counter.values, { "event.in": 8, "event.out": 3, "event.drop": 2, "timestamp.error": 3 });
  assert.equal(r.pipeline.errors, 0);

  const strict = await runPipeline([[null, { "@timestamp": now - 5 }], [null, { "@timestamp": now - 1 }]], (app, pipeline) => {
    app.clock = () => now;
    return [new TimeDriftFilter(app, pipeline, { config: { max_time_drift: 2 } }), new UnitTestSink(app, pipeline)];
  });
  assert.equal(strict.events.length, 1);
  await assert.rejects(runPipeline([], (app, pipeline) => [new TimeDriftFilter(app, pipeline, { config: { max_time_drift: "soon" } }), new UnitTestSink(app, pipeline)]),
    /\[pipeline:UnitTestPipeline:TimeDriftFilter\] key 'max_time_drift': expected a number/);
});
