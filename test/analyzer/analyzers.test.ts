import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, Pipeline, PubSubTrigger, type ConfigInput } from "../../src/core/index.js";
import { AnalyzingSource, GeoAnalyzer, LatchAnalyzer, QueryError, SessionAnalyzer, ThresholdAnalyzer, TimeDriftAnalyzer } from "../../src/analyzer/index.js";
import { Matrix } from "../../src/matrix/index.js";
import { UnitTestSink } from "../../src/unittest/index.js";

type R = Record<string, unknown>;

function base(t = 0) {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  let now = t;
  app.clock = () => now;
  const pipeline = new Pipeline(app, "P");
  return { app, pipeline, setClock: (x: number) => (now = x) };
}

test("TimeDriftAnalyzer: avg, median, population stddev, min, max of now − event time; negatives counted; cleared", () => {
  const { app, pipeline } = base(100);
  const out: R[] = [];
  const a = new TimeDriftAnalyzer(app, pipeline, { sink: (e) => out.push(e), config: { history_size: 4 } });
  assert.equal(a.analyzeOnClock, true);
  assert.equal(a.analyzePeriod, 300);
  // diffs 10, 2, 4, 4, 6 (history 4 keeps the last four: 2,4,4,6), one negative, one without time
  for (const ts of [90, 98, 96, 96, 94, 101]) a.process({}, { "@timestamp": ts });
  a.process({}, { other: 1 });
  assert.equal(a.negative, 1);
  assert.equal(a.positive, 5);
  a.analyze();
  assert.deepEqual(out[0], { "@timestamp": 100, type: "timedrift", analyzer: "TimeDriftAnalyzer", pipeline: "P", count: 4, avg: 4, median: 4, stddev: Math.sqrt(2), min: 2, max: 6 });
  assert.equal(a.gauge.values.stddev, Math.sqrt(2));
  a.analyze();
  assert.deepEqual(out[1], { "@timestamp": 100, type: "timedrift", analyzer: "TimeDriftAnalyzer", pipeline: "P", count: 0, avg: 0, median: 0, stddev: 0, min: 0, max: 0 });
});

test("TimeDriftAnalyzer: sparse_count takes every Nth event", () => {
  const { app, pipeline } = base(100);
  const a = new TimeDriftAnalyzer(app, pipeline, { config: { sparse_count: 3 } });
  for (const ts of [99, 98, 97, 96, 95, 94, 93]) a.process({}, { "@timestamp": ts });
  const s = a.statistics();
  assert.deepEqual([s.count, s.min, s.max], [2, 3, 6]);
});

function session(config: ConfigInput) {
  const b = base(0);
  const out: R[] = [];
  const a = new SessionAnalyzer(b.app, b.pipeline, { sink: (e) => out.push(e), config: { sum_fields: "bytes", last_fields: "page", ...config } });
  return { ...b, a, out };
}

test("SessionAnalyzer: idle timeout closes the session; the next event starts a new one", () => {
  const { a, out } = session({ idle_timeout: 30, max_length: 1000, scan_period: 5 });
  const e = (t: number, sid: string, bytes: number, page: string) => a.process({}, { "@timestamp": t, session_id: sid, bytes, page });
  e(0, "s1", 10, "/a");
  e(10, "s1", 5, "/b");
  e(12, "s2", 1, "/x");
  e(45, "s2", 1, "/y"); // scan at 45: s1 idle since 10 (35 > 30) → closed
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], { "@timestamp": 10, type: "session", analyzer: "SessionAnalyzer", session_id: "s1", start: 0, end: 10, duration: 10, count: 2, reason: "idle", bytes: 15, page: "/b" });
  // s2's last event was at 12: 45 − 12 = 33 > 30; the scan at 45 closed it, and the event began a new one
  e(50, "s1", 7, "/c"); // a new s1
  return a.stop().then(() => {
    const reasons = out.map((o) => [o.session_id, o.reason, o.count, o.start]);
    assert.deepEqual(reasons, [
      ["s1", "idle", 2, 0],
      ["s2", "idle", 1, 12],
      ["s2", "stop", 1, 45],
      ["s1", "stop", 1, 50],
    ]);
  });
});

test("SessionAnalyzer: max_length closes a busy session", async () => {
  const { a, out } = session({ idle_timeout: 100, max_length: 60, scan_period: 1000 });
  for (let t = 0; t <= 70; t += 10) a.process({}, { "@timestamp": t, session_id: "s", bytes: 1, page: String(t) });
  // events at 0..50 are one session; the event at 60 reaches max_length → closed, new session 60,70
  assert.equal(out.length, 1);
  assert.deepEqual([out[0]!.reason, out[0]!.count, out[0]!.bytes, out[0]!.start, out[0]!.end, out[0]!.page], ["max_length", 6, 6, 0, 50, "50"]);
  await a.stop();
  assert.deepEqual([out[1]!.reason, out[1]!.count, out[1]!.start, out[1]!.end], ["stop", 2, 60, 70]);
});

test("SessionAnalyzer: clock time expiry on analyze(); bad input counted", () => {
  const { a, out, setClock } = session({ time_source: "clock", idle_timeout: 30, max_length: 1000 });
  assert.equal(a.analyzeOnClock, true);
  a.process({}, { session_id: "s", bytes: 2 });
  a.process({}, { session_id: "s", bytes: "x" });
  a.process({}, { bytes: 1 });
  assert.equal(a.counter.values.bad_value, 1);
  assert.equal(a.counter.values.missing_dimension, 1);
  setClock(20);
  a.analyze();
  assert.equal(out.length, 0);
  setClock(31);
  a.analyze();
  assert.deepEqual([out[0]!.session_id, out[0]!.count, out[0]!.bytes, out[0]!.reason], ["s", 1, 2, "idle"]);
});

test("ThresholdAnalyzer: warm rows with enough cells above the bound raise an alarm", () => {
  const { app, pipeline } = base(1000);
  const out: R[] = [];
  const a = new ThresholdAnalyzer(app, pipeline, { sink: (e) => out.push(e), config: { event_attribute: "host", event_value: "cpu", upper_bound: "90", anomaly_occurrence: 2, resolution: 60, columns: 5 } });
  // window [720, 1020): columns start at 720, 780, 840, 900, 960
  for (const [t, host, cpu] of [[800, "h1", 95], [860, "h1", 50], [920, "h1", 99], [800, "h2", 95], [2000, "h1", 99]] as const) a.process({}, { "@timestamp": t, host, cpu });
  a.analyze();
  assert.equal(out.length, 0, "rows are not warm before a shift");
  a.matrix.advance(1020, 0); // one shift: window [780, 1080), rows now warm
  a.analyze();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.dimension, "h1");
  assert.equal(out[0]!.kind, "exceedance");
  assert.deepEqual((out[0]!.violations as R[]).map((v) => [v.window_start, v.value]), [[780, 95], [900, 99]]);
  assert.throws(() => new ThresholdAnalyzer(app, pipeline, { id: "T2", config: { event_attribute: "h", event_value: "v" } }), /lower_bound/);
});

test("ThresholdAnalyzer: rows with no value left in the window are closed and reused, clean", () => {
  const { app, pipeline } = base(1000);
  const out: R[] = [];
  const a = new ThresholdAnalyzer(app, pipeline, { sink: (e) => out.push(e), config: { event_attribute: "host", event_value: "cpu", upper_bound: "90", resolution: 60, columns: 5 } });
  // 200 checks, one column apart; each brings 4 hosts never seen again: two hot (95), two cool (50).
  let maxRows = 0;
  for (let k = 0; k < 200; k++) {
    const t = 1020 + 60 * k;
    a.matrix.advance(t, 0);
    for (let i = 0; i < 4; i++) a.process({}, { "@timestamp": t - 30, host: `${i < 2 ? "hot" : "cool"}-${k}-${i}`, cpu: i < 2 ? 95 : 50 });
    a.analyze();
    maxRows = Math.max(maxRows, a.matrix.openRows);
  }
  assert.ok(maxRows <= 4 * 6, `open rows stay within what the window holds (max ${maxRows})`);
  assert.ok(a.matrix.capacity <= 64, `the matrix did not grow with the 800 names (capacity ${a.matrix.capacity})`);
  assert.ok(a.rowsClosed >= 4 * 190, `rows closed: ${a.rowsClosed}`);
  const alarmed = new Set(out.map((e) => e.dimension as string));
  assert.equal([...alarmed].filter((h) => h.startsWith("cool")).length, 0, "a reused row carries no stale value into a new host");
  assert.ok([...alarmed].filter((h) => h.startsWith("hot")).length >= 2 * 190, "hot hosts still alarm once warm");
});

test("LatchAnalyzer: latches by query (BSPump's inclusive quirk kept), bounded, events pass", () => {
  const { app, pipeline } = base();
  const all = new LatchAnalyzer(app, pipeline, { id: "All", config: { latch_max_size: 2 } });
  const match = new LatchAnalyzer(app, pipeline, { id: "M", query: { level: { $in: ["error", "warn"] }, code: { $gte: 500 } } });
  const inverse = new LatchAnalyzer(app, pipeline, { id: "I", query: { level: "error" }, inclusive: true });
  const events = [{ level: "info", code: 200 }, { level: "error", code: 500 }, { level: "warn", code: 404 }, { level: "warn", code: 503 }];
  for (const e of events) for (const l of [all, match, inverse]) assert.equal(l.process({}, e), e);
  assert.deepEqual(all.latch, [events[2], events[3]]);
  assert.deepEqual(match.latch, [events[1], events[3]]);
  assert.deepEqual(inverse.latch, [events[0], events[2], events[3]]);
  assert.throws(() => new LatchAnalyzer(app, pipeline, { id: "Bad", query: { a: { $regex: "x" } } }), QueryError);
});

test("GeoAnalyzer: counts per cell, outside counted, hotspots", () => {
  const { app, pipeline } = base();
  const out: R[] = [];
  const g = new GeoAnalyzer(app, pipeline, { sink: (e) => out.push(e), config: { min_lat: 50.0, max_lat: 50.18557, min_lon: 14.25, max_lon: 14.58, resolution: 5 } });
  for (const [lat, lon] of [[50.18, 14.26], [50.18, 14.26], [50.001, 14.579], [10, 10]]) g.process({}, { lat, lon });
  g.process({}, { lat: "north", lon: 1 });
  assert.equal(g.outside, 1);
  assert.equal(g.counter.values.bad_value, 1);
  g.analyze();
  const spots = (out[0]!.hotspots as R[]).map((h) => [h.row, h.col, h.count]);
  assert.deepEqual(spots, [[0, 0, 2], [3, 3, 1]]);
});

test("AnalyzingSource: each trigger processes the matrix's complex event", async () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  class CountingMatrix extends Matrix {
    n = 0;
    override async analyze(): Promise<unknown> {
      return { analyzed: ++this.n };
    }
  }
  app.pumpService.addMatrix(new CountingMatrix(app, { id: "CM" }));
  const pipeline = new Pipeline(app, "AP");
  const sink = new UnitTestSink(app, pipeline);
  const source = new AnalyzingSource(app, pipeline, "CM");
  source.on(new PubSubTrigger(app, "go!"));
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => {
    // After the cycle ends (a trigger during the cycle is absorbed by it, as in BSPump).
    if (sink.output.length === 1) setImmediate(() => app.pubsub.publish("go!"));
    else app.stop();
  });
  app.pubsub.subscribe("Application.run!", () => {
    setImmediate(() => app.pubsub.publish("go!"));
  });
  await app.run();
  assert.deepEqual(sink.output.map(([, e]) => e), [{ analyzed: 1 }, { analyzed: 2 }]);
});
