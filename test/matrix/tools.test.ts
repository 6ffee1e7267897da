import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, Pipeline, PubSubTrigger, type DeadLetterEvent } from "../../src/core/index.js";
import { FileCSVSink } from "../../src/file/index.js";
import {
  BitMapIndex,
  GeoMatrix,
  Matrix,
  MatrixLookup,
  MatrixSource,
  NamedMatrix,
  SessionMatrix,
  SessionMatrixExportCSVGenerator,
  SliceIndex,
  TimeWindowMatrix,
  TimeWindowMatrixExportCSVGenerator,
  TreeRangeIndex,
} from "../../src/matrix/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { CollectSink, testApp, until } from "../helpers/components.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "bspump-matrix-tools-"));

test("Matrix.zeros(): one zeroed free row, the next addRow is 0; NamedMatrix forgets its names; TimeWindowMatrix its warm-up", () => {
  const app = testApp();
  const m = new Matrix(app);
  for (let i = 0; i < 7; i++) m.set(m.addRow(), 0, i + 1);
  m.zeros();
  assert.equal(m.rows, 1);
  assert.equal(m.openRows, 0);
  assert.equal(m.closedRows, 1);
  assert.equal(m.addRow(), 0);
  assert.equal(m.get(0), 0);
  assert.equal(m.addRow(), 1, "grows again after the reset");

  const n = new NamedMatrix(app, { id: "N" });
  let changes = 0;
  n.pubsub.subscribe("Matrix changed!", () => changes++);
  n.addRow("a");
  n.set(n.addRow("b"), 0, 5);
  n.zeros();
  assert.ok(changes >= 3, "zeros() publishes 'Matrix changed!'");
  assert.equal(n.getRowIndex("a"), undefined);
  assert.equal(n.getRowIndex("b"), undefined);
  assert.equal(n.getRowName(1), undefined);
  assert.equal(n.addRow("b"), 0);
  assert.equal(n.get(0), 0);
  assert.deepEqual((n.serialize() as { Index: { N2IMap: unknown } }).Index.N2IMap, { b: 0 });

  const tw = new TimeWindowMatrix(app, { id: "TW", startTime: 600, config: { columns: 3, resolution: 60 } });
  const r = tw.addRow("x");
  tw.addColumn();
  assert.equal(tw.warmingUpOf(r), 2);
  tw.zeros();
  assert.equal(tw.addRow("y"), 0);
  assert.equal(tw.warmingUpOf(0), 3, "a row added after zeros() warms up from the start");
  assert.equal(tw.lastActive[0], 0);

  const geo = new GeoMatrix(app, { id: "Geo", config: { max_lat: 50.2, min_lat: 50.0, min_lon: 14.3, max_lon: 14.6, resolution: 5 } });
  geo.set(2, 3, 9);
  geo.zeros();
  assert.equal(geo.rows, geo.mapHeight, "a GeoMatrix keeps its grid");
  assert.equal(geo.openRows, geo.mapHeight);
  assert.equal(geo.get(2, 3), 0);
});

function sessions(app = testApp(), id = "Sessions"): SessionMatrix {
  // max_closed_rows_capacity 0.9: the closed row stays a hole (no compaction), which the exporters skip.
  const m = new SessionMatrix(app, { id, dtype: [["user", "U20"], ["bytes", "i8"], ["start", "f8"]], config: { max_closed_rows_capacity: 0.9 } });
  const rows: [string, string, number, number][] = [["s1", "ann", 100, 1.5], ["s2", "bob", 200, 2.5], ["s3", "cy,\"q\"", 300, 3.5], ["s4", "dan", 400, 4.5]];
  for (const [name, user, bytes, start] of rows) m.store(name, { user, bytes, start }) || m.storeEvent(m.addRow(name), { user, bytes, start });
  m.closeRow("s2");
  return m;
}

test("MatrixSource emit=matrix → SessionMatrixExportCSVGenerator → FileCSVSink: one CSV row per open row, quoted by the codec's writer", async () => {
  const app = testApp();
  const matrix = app.pumpService.addMatrix(sessions(app));
  const dir = tmp();
  const out = join(dir, "sessions.csv");
  const pipeline = new Pipeline(app, "Export");
  const source = new MatrixSource(app, pipeline, "Sessions").on(new PubSubTrigger(app, "Application.run!"));
  const sink = new FileCSVSink(app, pipeline, { config: { path: out, flush_period: 0 } });
  pipeline.build(source, new SessionMatrixExportCSVGenerator(app, pipeline), sink);
  app.pumpService.addPipeline(pipeline);
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
  assert.equal(await app.run(), 0);
  assert.equal(readFileSync(out, "utf8"), 'id,user,bytes,start\ns1,ann,100,1.5\ns3,"cy,""q""",300,3.5\ns4,dan,400,4.5\n');
  assert.equal(pipeline.eventOut, 3);
  assert.equal(matrix.openRows, 3, "exporting leaves the matrix as it was");
});

test("TimeWindowMatrixExportCSVGenerator: one record per row and column, stamped with the column's start (BSPump stamped Start + j·resolution)", async () => {
  const app = testApp();
  const tw = new TimeWindowMatrix(app, { id: "TW", startTime: 1000, config: { columns: 3, resolution: 60, max_closed_rows_capacity: 0.9 } });
  // start = 1020, end = 840: columns start at 840, 900, 960.
  const a = tw.addRow("a");
  tw.addRow("gone");
  const b = tw.addRow("b");
  tw.closeRow("gone");
  tw.set(a, tw.physical(0), 1);
  tw.set(a, tw.physical(2), 3);
  tw.set(b, tw.physical(1), 7);
  tw.addColumn(); // the window moves: columns start at 900, 960, 1020; a's 1 falls out.
  const pipeline = new Pipeline(app, "Export");
  const sink = new CollectSink(app, pipeline);
  const source = new MatrixSource(app, pipeline, tw);
  pipeline.build(source, new TimeWindowMatrixExportCSVGenerator(app, pipeline), sink);
  pipeline.process(tw, {});
  assert.deepEqual(sink.events, [
    { id: "a", timestamp: 900, value: 0 },
    { id: "a", timestamp: 960, value: 3 },
    { id: "a", timestamp: 1020, value: 0 },
    { id: "b", timestamp: 900, value: 7 },
    { id: "b", timestamp: 960, value: 0 },
    { id: "b", timestamp: 1020, value: 0 },
  ]);
  assert.deepEqual(sink.contexts.map((c) => [c.row, c.column]), [[a, 0], [a, 1], [a, 2], [b, 0], [b, 1], [b, 2]]);
});

test("The export generators: an event that is not their matrix goes to the pipeline's error rules (dead letter), nothing crashes", () => {
  const app = testApp();
  const pipeline = new Pipeline(app, "Export");
  const dead = new CollectSink(app, pipeline, { id: "Dead" });
  pipeline.deadLetter = dead;
  const source = new MatrixSource(app, pipeline, "unused");
  pipeline.build(source, new SessionMatrixExportCSVGenerator(app, pipeline), new CollectSink(app, pipeline));
  pipeline.process({ not: "a matrix" }, {});
  pipeline.process(new NamedMatrix(app, { id: "Named" }), {});
  const records = dead.events as DeadLetterEvent[];
  assert.equal(records.length, 2);
  assert.match(records[0]!.error.message, /SessionMatrixExportCSVGenerator expects a SessionMatrix .*got Object/);
  assert.match(records[1]!.error.message, /got NamedMatrix/);
});

test("MatrixSource emit=rows: one event per open row per trigger, {id, fields}, context {matrix, row}", async () => {
  const app = testApp();
  app.pumpService.addMatrix(sessions(app));
  const pipeline = new Pipeline(app, "Rows");
  const sink = new CollectSink(app, pipeline);
  const trigger = new PubSubTrigger(app, "go!");
  const source = new MatrixSource(app, pipeline, { matrixId: "Sessions", config: { emit: "rows" } }).on(trigger);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  let cycles = 0;
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => cycles++);
  const running = app.run();
  await until(() => source.running);
  app.pubsub.publish("go!");
  await until(() => cycles === 1);
  app.pubsub.publish("go!");
  await until(() => cycles === 2);
  app.stop();
  assert.equal(await running, 0);
  const once = [
    { id: "s1", user: "ann", bytes: 100, start: 1.5 },
    { id: "s3", user: 'cy,"q"', bytes: 300, start: 3.5 },
    { id: "s4", user: "dan", bytes: 400, start: 4.5 },
  ];
  assert.deepEqual(sink.events, [...once, ...once]);
  assert.deepEqual(sink.contexts.slice(0, 3).map((c) => [c.matrix, c.row]), [["Sessions", 0], ["Sessions", 2], ["Sessions", 3]]);

  const tw = new TimeWindowMatrix(app, { id: "TW2", startTime: 1000, config: { columns: 3 } });
  const r = tw.addRow("k");
  tw.set(r, tw.physical(2), 9);
  tw.addColumn();
  const p2 = new Pipeline(app, "TWRows");
  const s2 = new CollectSink(app, p2);
  const src2 = new MatrixSource(app, p2, tw, { config: { emit: "rows", id_key: "name" } });
  p2.build(src2, s2);
  await src2.cycle();
  assert.deepEqual(s2.events, [{ name: "k", value: [0, 9, 0] }], "time columns oldest first");
  assert.throws(() => new MatrixSource(app, p2, { config: { emit: "cells" } }), (e: unknown) => e instanceof ConfigError && /emit/.test(e.message));
  assert.throws(() => new MatrixSource(app, p2, {}), (e: unknown) => e instanceof ConfigError && /\[pipeline:TWRows:MatrixSource\]: MatrixSource needs a matrix/.test(e.message));
});

test("BitMapIndex: value → open rows; a string search finds numbers (BSPump's int/str key bug); update() drops closed rows", () => {
  const app = testApp();
  const m = new SessionMatrix(app, { id: "M", dtype: [["port", "i4"], ["proto", "U8"]], config: { max_closed_rows_capacity: 0.9 } });
  const data: [string, number, string][] = [["a", 80, "tcp"], ["b", 443, "tcp"], ["c", 80, "udp"], ["d", 53, "udp"]];
  for (const [name, port, proto] of data) m.storeEvent(m.addRow(name), { port, proto });
  const byPort = new BitMapIndex("port", m);
  const byProto = new BitMapIndex("proto", m, "Proto");
  assert.deepEqual(byPort.search(80), new Set([0, 2]));
  assert.deepEqual(byPort.search("80"), new Set([0, 2]));
  assert.deepEqual(byPort.search(22), new Set());
  assert.deepEqual(byProto.search("udp"), new Set([2, 3]));
  assert.equal(byProto.id, "Proto");
  m.closeRow("a");
  m.storeEvent(m.getRowIndex("d")!, { port: 80 });
  byPort.update(m);
  assert.deepEqual(byPort.search(80), new Set([2, 3]));
  assert.deepEqual(byPort.search(53), new Set());
  assert.deepEqual(byPort.serialize(), { id: "BitMapIndex", class: "BitMapIndex", column: "port", bitmap: { "80": [2, 3], "443": [1] } });
});

/** Rows with [start, end) ranges; the brute-force answer for a value. */
function rangeMatrix(ranges: [number, number][]): SessionMatrix {
  const m = new SessionMatrix(testApp(), { id: "R", dtype: [["lo", "f8"], ["hi", "f8"], ["label", "U10"]], config: { max_closed_rows_capacity: 0.9 } });
  ranges.forEach(([lo, hi], i) => m.storeEvent(m.addRow(`r${i}`), { lo, hi, label: `L${i}` }));
  return m;
}
function brute(m: SessionMatrix, v: number): Set<number> {
  const out = new Set<number>();
  for (let r = 0; r < m.capacity; r++) if (m.isOpen(r) && (m.get(r, 0, "lo") as number) <= v && v < (m.get(r, 0, "hi") as number)) out.add(r);
  return out;
}

test("TreeRangeIndex and SliceIndex: the rows whose [start, end) holds the value; boundaries belong to the next range", () => {
  const m = rangeMatrix([[0, 10], [10, 20], [20, 50], [100, 110]]);
  for (const index of [new TreeRangeIndex("lo", "hi", m), new SliceIndex("lo", "hi", m)]) {
    assert.deepEqual(index.search(0), new Set([0]), index.id);
    assert.deepEqual(index.search(9.99), new Set([0]));
    assert.deepEqual(index.search(10), new Set([1]));
    assert.deepEqual(index.search("35"), new Set([2]));
    assert.deepEqual(index.search(60), new Set(), "a gap");
    assert.deepEqual(index.search(110), new Set(), "end excluded");
    assert.deepEqual(index.search(-1), new Set());
    m.closeRow("r1");
    index.update(m);
    assert.deepEqual(index.search(15), new Set());
    m.storeEvent(m.addRow("r1b"), { lo: 12, hi: 18 });
    index.update(m);
    assert.deepEqual(index.search(15), new Set([1]));
    assert.deepEqual(index.search(11), new Set());
    m.closeRow("r1b");
    m.storeEvent(m.addRow("r1"), { lo: 10, hi: 20 });
  }
  assert.throws(() => new SliceIndex("lo", "hi", m, 1e-6), /RangeError|slices/);
  assert.throws(() => new TreeRangeIndex("label", "hi", m), /field 'label' of matrix 'R' is not numeric/);
});

test("TreeRangeIndex and SliceIndex agree with a brute-force scan on overlapping random ranges", () => {
  let seed = 42;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const ranges: [number, number][] = Array.from({ length: 300 }, () => {
    const lo = Math.floor(rnd() * 1000) / 4;
    return [lo, lo + Math.floor(rnd() * 80 + 1) / 4];
  });
  const m = rangeMatrix(ranges);
  const tree = new TreeRangeIndex("lo", "hi", m);
  const slices = new SliceIndex("lo", "hi", m, 7.3);
  const fine = new SliceIndex("lo", "hi", m);
  for (let i = 0; i < 2000; i++) {
    const v = rnd() * 300 - 10;
    const expected = brute(m, v);
    assert.deepEqual(tree.search(v), expected, `tree at ${v}`);
    assert.deepEqual(slices.search(v), expected, `slices at ${v}`);
    assert.deepEqual(fine.search(v), expected, `fine slices at ${v}`);
  }
});

test("MatrixLookup: its own SessionMatrix, indexes refreshed after the matrix changed, search, get/has/size, serialize → deserialize", async () => {
  const app = testApp();
  const lookup = new MatrixLookup(app, "Net", { dtype: [["lo", "f8"], ["hi", "f8"], ["owner", "U20"]] });
  app.pumpService.addLookup(lookup);
  assert.equal(app.pumpService.locateMatrix("NetMatrix"), lookup.matrix);
  const m = lookup.matrix;
  m.storeEvent(m.addRow("n1"), { lo: 0, hi: 100, owner: "alice" });
  const tree = lookup.createIndex(TreeRangeIndex, "lo", "hi", m);
  const owners = lookup.createIndex(BitMapIndex, "owner", m, "Owners");
  let changed = 0;
  lookup.pubsub.subscribe("bspump.Lookup.changed!", () => changed++);
  m.storeEvent(m.addRow("n2"), { lo: 100, hi: 200, owner: "bob" });
  m.storeEvent(m.addRow("n3"), { lo: 200, hi: 300, owner: "alice" });
  assert.deepEqual(tree.search(150), new Set(), "not refreshed yet: values are stored after addRow");
  await new Promise((r) => setImmediate(r));
  assert.equal(changed, 1, "one refresh for the two changes");
  assert.deepEqual(tree.search(150), new Set([1]));
  assert.equal(lookup.search(tree.search(250), "owner"), "alice");
  assert.equal(lookup.search(owners.search("alice"), "hi"), 100, "the lowest row of the set");
  assert.equal(lookup.search((r) => (m.get(r, 0, "lo") as number) >= 100, "owner"), "bob");
  assert.equal(lookup.search(tree.search(999), "owner"), null);
  assert.deepEqual(lookup.get("n2"), { lo: 100, hi: 200, owner: "bob", id: "n2" });
  assert.equal(lookup.has("n3"), true);
  assert.equal(lookup.has("zz"), false);
  assert.equal(lookup.size, 3);
  assert.throws(() => lookup.search(() => true, "nope"), /has no field 'nope'/);

  m.closeRow("n1"); // compacts (1 closed of 5 rows ≥ 0.2): n2 and n3 move to rows 0 and 1
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(tree.search(150), new Set([0]), "indexes follow the compaction");
  const data = lookup.serialize();
  const parsed = JSON.parse(data.toString()) as { Matrix: { Index: { N2IMap: Record<string, number> } }; Indexes: Record<string, { class: string }> };
  assert.deepEqual(parsed.Matrix.Index.N2IMap, { n2: 0, n3: 1 });
  assert.deepEqual(Object.keys(parsed.Indexes).sort(), ["Owners", "TreeRangeIndex"]);

  const app2 = testApp();
  const copy = new MatrixLookup(app2, "Net", { dtype: [["lo", "f8"], ["hi", "f8"], ["owner", "U20"]] });
  const copyTree = copy.createIndex(TreeRangeIndex, "lo", "hi", copy.matrix);
  copy.deserialize(data);
  assert.equal(copy.size, 2);
  assert.deepEqual(copy.get("n3"), { lo: 200, hi: 300, owner: "alice", id: "n3" });
  assert.equal(copy.search(copyTree.search(120), "owner"), "bob");
  assert.equal(copy.get("n1"), undefined);
  assert.throws(() => copy.deserialize(Buffer.from("{}")), /not a serialized MatrixLookup/);
});

test("MatrixLookup on_clock_update refreshes every update_period; a matrix_id that is not a SessionMatrix is refused", async () => {
  const app = testApp();
  const shared = app.pumpService.addMatrix(new SessionMatrix(app, { id: "Shared", dtype: [["v", "i4"]] }));
  const lookup = new MatrixLookup(app, "Clocked", { matrixId: "Shared", onClockUpdate: true, config: { update_period: 0.05 } });
  const index = lookup.createIndex(BitMapIndex, "v", shared);
  shared.storeEvent(shared.addRow("x"), { v: 7 });
  const running = app.run();
  await until(() => index.search(7).size === 1, 3000, "clock refresh");
  app.stop();
  await running;
  app.pumpService.addMatrix(new NamedMatrix(app, { id: "Plain" }));
  assert.throws(() => new MatrixLookup(app, "Bad", { matrixId: "Plain" }), /matrix 'Plain' is a NamedMatrix, not a SessionMatrix/);
});

test("YAML: a MatrixLookup's matrix exported by MatrixSource → SessionMatrixExportCSVGenerator → file.FileCSVSink", async () => {
  const dir = tmp();
  const out = join(dir, "net.csv");
  const yaml = `
lookups:
  - class: matrix.MatrixLookup
    id: Net
    args: {dtype: [[owner, U20], [bytes, i8]]}
pipelines:
  - id: Export
    sources:
      - class: matrix.MatrixSource
        args: {matrix_id: NetMatrix}
        trigger: {class: PubSubTrigger, args: {message_types: "Application.run!"}}
    processors:
      - class: matrix.SessionMatrixExportCSVGenerator
    sink:
      class: file.FileCSVSink
      config: {path: ${JSON.stringify(out)}, flush_period: 0}
`;
  const app = testApp();
  await new PumpBuilder(join(dir, "app.yaml"), yaml).constructPump(app);
  const m = app.pumpService.locateMatrix<SessionMatrix>("NetMatrix");
  m.storeEvent(m.addRow("h1"), { owner: "ann", bytes: 10 });
  m.storeEvent(m.addRow("h2"), { owner: "bob", bytes: 20 });
  app.pumpService.locatePipeline("Export")!.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
  assert.equal(await app.run(), 0);
  assert.equal(readFileSync(out, "utf8"), "id,owner,bytes\nh1,ann,10\nh2,bob,20\n");
});
