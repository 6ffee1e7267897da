/**
 * Partitioned analyzers without a broker: the PartitionedStateHost (core's contract, which
 * KafkaSource's `state_topic` implements) is a small in-test host here. A partition's state
 * snapshotted in one pump and restored in another must go on to the same results as a run that
 * never moved it; the snapshot is the matrix's persistence format.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, ConfigError, Pipeline, type EventContext, type PartitionedState, type PartitionedStateHost } from "../../src/core/index.js";
import { CardinalityAnalyzer, SessionAnalyzer, TimeWindowAnalyzer } from "../../src/analyzer/index.js";
import { TimeWindowMatrix } from "../../src/matrix/index.js";

type R = Record<string, unknown>;

/** Partition = the context's `p`; keeps what registered. */
class Host implements PartitionedStateHost {
  states: PartitionedState[] = [];
  partitionOf(context: EventContext): string | null {
    return typeof context.p === "string" ? context.p : null;
  }
  register(state: PartitionedState): void {
    this.states.push(state);
  }
}

function pump(kind: "window" | "session") {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const pipeline = new Pipeline(app, "P");
  const host = new Host();
  pipeline.partitionedState = host;
  const results: R[] = [];
  const a =
    kind === "window"
      ? new TimeWindowAnalyzer(app, pipeline, { id: "A", config: { partitioned: true, dimension_attr: "key", value_attr: "v", resolution: 10, columns: 3, emit: "dimension" }, sink: (e) => results.push(e) })
      : new SessionAnalyzer(app, pipeline, { id: "A", config: { partitioned: true, session_attr: "key", idle_timeout: 15, max_length: 40, sum_fields: ["v"] }, sink: (e) => results.push(e) });
  a.start();
  return { a, host, results, feed: (p: string, e: R) => a.process({ p }, e) };
}

/** Two partitions: keys k0–k9 in "p0", k10–k19 in "p1"; event time per partition in order. */
function events(): { p: string; e: R }[] {
  const out: { p: string; e: R }[] = [];
  for (let i = 0; i < 2000; i++) {
    const k = i % 20;
    out.push({ p: k < 10 ? "p0" : "p1", e: { key: `k${k}`, "@timestamp": 1000 + i * 0.1 + (k < 10 ? 0 : 37), v: i % 5 } });
  }
  return out;
}

const byId = (rs: R[]) => new Map(rs.map((r) => [`${String(r.dimension ?? r.key)}|${String(r.window_start ?? r.start)}`, JSON.stringify(r)]));

for (const kind of ["window", "session"] as const) {
  test(`${kind}: a partition moved to another pump mid-stream gives the results of a run that kept it`, () => {
    const input = events();
    const whole = pump(kind);
    for (const { p, e } of input) whole.feed(p, e);

    const first = pump(kind);
    const second = pump(kind);
    const cut = 1100;
    for (const { p, e } of input.slice(0, cut)) first.feed(p, e);
    // p1 moves: snapshotted in the first pump, released there, restored in the second.
    const snapshot = first.host.states[0]!.snapshot("p1");
    assert.ok(snapshot !== null && snapshot.byteLength > 0);
    first.host.states[0]!.release("p1");
    second.host.states[0]!.restore("p1", snapshot);
    for (const { p, e } of input.slice(cut)) (p === "p1" ? second : first).feed(p, e);

    const expected = byId(whole.results);
    const got = byId([...first.results, ...second.results]);
    assert.ok(expected.size >= (kind === "window" ? 300 : 80), `${expected.size} results`);
    assert.equal(first.results.length + second.results.length, whole.results.length, "each result once");
    assert.deepEqual(got, expected);
    assert.ok(second.results.length > 0 && second.results.every((r) => r.analyzer === "A"), "the second pump emitted p1's later results, under the analyzer's id");
  });

  test(`${kind}: a partition restored without a checkpoint starts empty; restore replaces the state`, () => {
    const { host, results, feed } = pump(kind);
    for (const { p, e } of events().slice(0, 800)) feed(p, e);
    const before = results.length;
    host.states[0]!.restore("p0", null);
    assert.equal(host.states[0]!.snapshot("p0"), null, "nothing kept for p0");
    assert.ok(host.states[0]!.snapshot("p1") !== null);
    assert.equal(results.length, before, "restoring emits nothing");
  });
}

test("partitioned without a source that checkpoints per partition: a ConfigError at start", () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const pipeline = new Pipeline(app, "P");
  const a = new TimeWindowAnalyzer(app, pipeline, { id: "A", config: { partitioned: true } });
  assert.throws(() => a.start(), (e: unknown) => e instanceof ConfigError && /partitioned = true needs .*state_topic/.test(e.message));
  // CardinalityAnalyzer keeps sketches outside its matrix, which a snapshot would miss.
  assert.throws(() => new CardinalityAnalyzer(app, pipeline, { id: "C", config: { partitioned: true, distinct_attr: "ip" } }), (e: unknown) => e instanceof ConfigError && /partitioned.*not supported by CardinalityAnalyzer/.test(e.message));
});

test("Matrix.snapshot() / restoreSnapshot(): the same state, names, meta and time bounds", () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const m = new TimeWindowMatrix(app, { id: "M", dtype: [["count", "f8"], ["label", "U"]], config: { resolution: 10, columns: 4 }, startTime: 1000 });
  for (const name of ["a", "b", "c"]) m.addRow(name);
  m.closeRow("b");
  m.numeric("count")[1]![m.getRowIndex("c")!] = 7;
  m.set(m.getRowIndex("a")!, 2, "x", "label");
  m.meta.watermark = 1234.5;
  m.addColumn();
  const copy = new TimeWindowMatrix(app, { id: "M2", dtype: [["count", "f8"], ["label", "U"]], config: { resolution: 10, columns: 4 } });
  copy.restoreSnapshot(m.snapshot());
  assert.deepEqual(copy.serialize(), m.serialize());
  assert.equal(copy.getRowIndex("b"), undefined);
  assert.equal(copy.meta.watermark, 1234.5);
  assert.deepEqual([copy.start, copy.end, copy.head], [m.start, m.end, m.head]);
  const other = new TimeWindowMatrix(app, { id: "M3", dtype: [["count", "f8"]], config: { resolution: 10, columns: 4 } });
  assert.throws(() => other.restoreSnapshot(m.snapshot()), ConfigError);
});
