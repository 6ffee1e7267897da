import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config } from "../../src/core/index.js";
import { GeoMatrix, Matrix, NamedMatrix, SessionMatrix, TimeWindowMatrix } from "../../src/matrix/index.js";

function makeApp(t = 1000): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  app.clock = () => t;
  return app;
}

test("Matrix: rows 0,1,2… in order, growth past one row (1-D BSPump bug), zero-filled", () => {
  const m = new Matrix(makeApp());
  const rows = Array.from({ length: 12 }, () => m.addRow());
  assert.deepEqual(rows, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  for (const r of rows) assert.equal(m.get(r), 0);
  m.set(3, 0, 7.5);
  assert.equal(m.get(3), 7.5);
});

test("NamedMatrix: freed rows reused lowest-first, zeroed, index kept", () => {
  const m = new NamedMatrix(makeApp(), { config: { max_closed_rows_capacity: 0.9 } });
  for (const n of ["a", "b", "c", "d", "e"]) m.addRow(n);
  m.set(m.getRowIndex("d")!, 0, 4);
  m.set(m.getRowIndex("b")!, 0, 2);
  assert.equal(m.closeRow("d"), true);
  assert.equal(m.closeRow("b"), true);
  assert.equal(m.closeRow("b"), false);
  assert.equal(m.closeRow("zz"), false);
  assert.equal(m.addRow("x"), 1); // lowest free first
  assert.equal(m.addRow("y"), 3);
  assert.equal(m.get(1), 0);
  assert.equal(m.get(3), 0);
  assert.equal(m.getRowName(3), "y");
  assert.equal(m.addRow("x"), 1, "adding a known name returns its row");
});

test("NamedMatrix.flush compacts, keeps order and renumbers the index", () => {
  const m = new NamedMatrix(makeApp(), { config: { max_closed_rows_capacity: 0.99 } });
  for (const n of ["a", "b", "c", "d"]) m.addRow(n);
  m.set(m.getRowIndex("c")!, 0, 30);
  m.set(m.getRowIndex("d")!, 0, 40);
  m.closeRow("a");
  m.closeRow("b");
  const { saved } = m.flush();
  assert.deepEqual([...saved], [[2, 0], [3, 1]]);
  assert.equal(m.rows, 2);
  assert.equal(m.getRowIndex("c"), 0);
  assert.equal(m.getRowIndex("d"), 1);
  assert.equal(m.get(0), 30);
  assert.equal(m.get(1), 40);
  assert.equal(m.closedRows, 0);
});

test("NamedMatrix auto-flushes when closed rows reach max_closed_rows_capacity", () => {
  const m = new NamedMatrix(makeApp(), { config: { max_closed_rows_capacity: 0.2 } });
  for (let i = 0; i < 10; i++) m.addRow(`r${i}`);
  m.closeRow("r0");
  assert.ok(m.rows <= 10);
  m.closeRow("r1");
  assert.equal(m.rows, 8, "two closed of ten (20 %) triggered compaction");
  assert.equal(m.getRowIndex("r2"), 0);
});

test("TimeWindowMatrix: start/end, get_column, late/early counted, advance zero-fills", () => {
  const app = makeApp(1000);
  const m = new TimeWindowMatrix(app, { config: { resolution: 60, columns: 3 } });
  assert.equal(m.start, 1020); // next boundary after 1000
  assert.equal(m.end, 840);
  assert.equal(m.getColumn(840), 0);
  assert.equal(m.getColumn(899.9), 0);
  assert.equal(m.getColumn(900), 1);
  assert.equal(m.getColumn(1019), 2);
  assert.equal(m.getColumn(1020), -1);
  assert.equal(m.getColumn(839), -1);
  assert.equal(m.earlyLate.values["events.early"], 1);
  assert.equal(m.earlyLate.values["events.late"], 1);
  const r = m.addRow("x");
  m.set(r, m.physical(0), 5);
  m.set(r, m.physical(2), 7);
  assert.equal(m.warmingUp[r], 3);
  assert.equal(m.advance(1020, 0), 1);
  assert.equal(m.start, 1080);
  assert.equal(m.get(r, m.physical(1)), 7, "the newest column moved one to the left");
  assert.equal(m.get(r, m.physical(2)), 0, "the new column is zero (BSPump put NaN)");
  assert.equal(m.warmingUp[r], 2);
  // BSPump's lead: advance while (start − target)/resolution ≤ 0.25
  assert.equal(m.advance(1066, 0.25), 1);
  assert.equal(m.start, 1140);
  // a jump far past the window clears everything
  m.set(r, m.physical(2), 9);
  m.advance(100000, 0);
  for (let c = 0; c < 3; c++) assert.equal(m.get(r, m.physical(c)), 0);
  assert.ok(m.start > 100000 && m.start - 100000 <= 60);
});

test("GeoMatrix: Prague bbox at 5 km is 5×5 (as BSPump), projection and inverse", () => {
  const m = new GeoMatrix(makeApp(), { bbox: { min_lat: 50.0, max_lat: 50.18557, min_lon: 14.25, max_lon: 14.58 }, config: { resolution: 5 } });
  assert.equal(m.mapWidth, 5);
  assert.equal(m.mapHeight, 5);
  assert.equal(m.sizeWidth, 25);
  assert.ok(m.isInBoundaries(50.1, 14.4));
  assert.ok(!m.isInBoundaries(50.0, 14.4), "edges are outside (strict)");
  assert.deepEqual(m.projectEquirectangular(50.18, 14.26), [0, 0]);
  assert.deepEqual(m.projectEquirectangular(50.001, 14.579), [3, 3]);
  const [lat, lon] = m.inverseEquirectangular(0, 0);
  assert.ok(lat < 50.18557 && lon > 14.25);
});

test("SessionMatrix: store, store_event (unknown keys ignored), decode_row", () => {
  const m = new SessionMatrix(makeApp(), { dtype: [["a", "i8"], ["b", "f8"], ["u", "U30"]], config: { primary_name: "sid" } });
  const r = m.addRow("s1");
  m.storeEvent(r, { a: 3, b: 2.5, u: "alice", other: 1 });
  assert.deepEqual(m.decodeRow(r), { a: 3, b: 2.5, u: "alice", sid: "s1" });
  assert.equal(m.store("s1", { a: 4 }), true);
  assert.equal(m.store("nope", { a: 4 }), false);
  assert.deepEqual(m.decodeRow(r, ["a"]), { a: 4, sid: "s1" });
  assert.throws(() => m.storeEvent(r, { a: 1 }, ["a", "b"]));
});

test("persistence: a TimeWindowMatrix survives a restart (values, names, window, meta)", () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-matrix-"));
  try {
    const m1 = new TimeWindowMatrix(makeApp(1000), { id: "P", dtype: [["count", "f8"], ["who", "U"]], persistent: true, config: { columns: 4, path: dir } });
    for (let i = 0; i < 8; i++) m1.addRow(`d${i}`); // grows past the first allocation
    m1.set(m1.getRowIndex("d6")!, m1.physical(3), 42, "count");
    m1.set(m1.getRowIndex("d6")!, m1.physical(3), "zoe", "who");
    m1.closeRow("d1");
    m1.meta.mark = 7;
    m1.save();
    const m2 = new TimeWindowMatrix(makeApp(5000), { id: "P", dtype: [["count", "f8"], ["who", "U"]], persistent: true, config: { columns: 4, path: dir } });
    assert.equal(m2.start, m1.start, "event-time matrix keeps its stored window");
    assert.equal(m2.getRowIndex("d6"), m1.getRowIndex("d6"));
    assert.equal(m2.get(m2.getRowIndex("d6")!, m2.physical(3), "count"), 42);
    assert.equal(m2.get(m2.getRowIndex("d6")!, m2.physical(3), "who"), "zoe");
    assert.equal(m2.getRowIndex("d1"), undefined);
    assert.equal(m2.openRows, 7);
    assert.equal(m2.addRow("new"), 1, "the freed row is reused after the restart");
    assert.equal(m2.meta.mark, 7);
    assert.throws(() => new TimeWindowMatrix(makeApp(), { id: "P", persistent: true, config: { columns: 5, path: dir } }), /another layout/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("NamedMatrix: closed rows that were reused do not count towards compaction", () => {
  const m = new NamedMatrix(makeApp(), { config: { max_closed_rows_capacity: 0.2 } });
  for (let i = 0; i < 10; i++) m.addRow(`r${i}`);
  // Close and replace one row at a time, many times: never two closed rows at once, so no compaction.
  for (let k = 0; k < 50; k++) {
    const name = k < 10 ? `r${k}` : `n${k - 10}`;
    const row = m.getRowIndex(name)!;
    m.closeRow(name);
    assert.equal(m.addRow(`n${k}`), row, "the freed row is reused");
  }
  assert.equal(m.rows, 10);
  assert.equal(m.openRows, 10);
  m.closeRow("n45");
  m.closeRow("n46");
  assert.equal(m.rows, 8, "two rows closed and not reused (20 %) compact the matrix");
});

test("TimeWindowMatrix: lastActive follows its row through compaction and is cleared on close", () => {
  const m = new TimeWindowMatrix(makeApp(0), { config: { resolution: 60, columns: 3, max_closed_rows_capacity: 0.99 } });
  for (const n of ["a", "b", "c"]) m.addRow(n);
  m.lastActive[m.getRowIndex("b")!] = 111;
  m.lastActive[m.getRowIndex("c")!] = 222;
  m.closeRow("a");
  assert.equal(m.lastActive[0], 0);
  m.flush();
  assert.equal(m.lastActive[m.getRowIndex("b")!], 111);
  assert.equal(m.lastActive[m.getRowIndex("c")!], 222);
});
