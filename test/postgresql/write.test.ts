import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { ConfigError } from "../../src/core/index.js";
import { copyField, planWrite, quoteName, sqlValue } from "../../src/postgresql/index.js";
import { formatLsn, parseLsn, readStreamMessage, statusUpdate } from "../../src/postgresql/replication.js";

test("planWrite: COPY for a plain INSERT, multi-row INSERT for a tail or an upsert, per row otherwise", () => {
  const plain = planWrite("s", "INSERT INTO t (a, b) VALUES (%s, %s)", "", ["x", "y"], [], "auto");
  assert.equal(plain.copy, "COPY t (a, b) FROM STDIN");
  assert.equal(plain.perRow, "INSERT INTO t (a, b) VALUES ($1, $2)");
  const forced = planWrite("s", "INSERT INTO t (a, b) VALUES (%s, %s)", "", ["x", "y"], [], "insert");
  assert.equal(forced.copy, null);
  assert.deepEqual(forced.bulk, { head: "INSERT INTO t (a, b) VALUES ", tail: "" });
  const tail = planWrite("s", "INSERT INTO t (a, b) VALUES (%s, %s) ON CONFLICT (a) DO NOTHING;", "", ["x", "y"], [], "auto");
  assert.equal(tail.copy, null);
  assert.deepEqual(tail.bulk, { head: "INSERT INTO t (a, b) VALUES ", tail: " ON CONFLICT (a) DO NOTHING" });
  const update = planWrite("s", "UPDATE t SET b = %s WHERE a = %s", "", ["y", "x"], [], "auto");
  assert.equal(update.copy, null);
  assert.equal(update.bulk, null);
  assert.equal(update.perRow, "UPDATE t SET b = $1 WHERE a = $2");
  const upsert = planWrite("s", "", "sales.My Orders", ["id", "Total"], ["id"], "auto");
  assert.equal(upsert.copy, null);
  assert.equal(upsert.bulk!.tail, ' ON CONFLICT (id) DO UPDATE SET "Total" = EXCLUDED."Total"');
  assert.equal(upsert.perRow, 'INSERT INTO sales."My Orders" (id, "Total") VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET "Total" = EXCLUDED."Total"');
  assert.deepEqual(upsert.keyIndexes, [0]);
  assert.equal(planWrite("s", "", "t", ["id"], ["id"], "auto").bulk!.tail, " ON CONFLICT (id) DO NOTHING");
  assert.throws(() => planWrite("s", "UPDATE t SET b = %s", "", ["y"], [], "copy"), ConfigError);
  assert.throws(() => planWrite("s", "INSERT INTO t (a) VALUES (%s)", "t", ["a"], [], "auto"), /either query or table/);
  assert.equal(quoteName('a."b'), 'a."""b"');
});

test("COPY text: NULL, escapes, booleans, dates, JSON and bytea as PostgreSQL reads them", () => {
  assert.equal(copyField(null), "\\N");
  assert.equal(copyField(undefined), "\\N");
  assert.equal(copyField("a\tb\nc\\d\re"), "a\\tb\\nc\\\\d\\re");
  assert.equal(copyField("plain"), "plain");
  assert.equal(copyField(true), "t");
  assert.equal(copyField(1.5), "1.5");
  assert.equal(copyField(12n), "12");
  assert.equal(copyField(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))), "2026-01-02T03:04:05.006Z");
  assert.equal(copyField({ a: "x\ty" }), '{"a":"x\\\\ty"}');
  assert.equal(copyField(Buffer.from([0, 255])), "\\\\x00ff");
  assert.equal(sqlValue([1, 2]), "[1,2]");
  assert.equal(sqlValue(undefined), null);
});

test("replication framing: LSNs, XLogData and keepalive messages, standby status updates", () => {
  assert.equal(parseLsn("16/B374D848"), 0x16b374d848n);
  assert.equal(formatLsn(0x16b374d848n), "16/B374D848");
  assert.equal(formatLsn(parseLsn("00000000/0ABCDEF0")), "0/ABCDEF0");
  const w = Buffer.alloc(27);
  w[0] = 0x77;
  w.writeBigUInt64BE(0x100n, 1);
  w.write("BC", 25, "latin1");
  const data = readStreamMessage(w);
  assert.equal(data.kind, "data");
  if (data.kind === "data") {
    assert.equal(data.start, 0x100n);
    assert.equal(data.payload.toString("latin1"), "BC");
  }
  const k = Buffer.alloc(18);
  k[0] = 0x6b;
  k.writeBigUInt64BE(0x200n, 1);
  k[17] = 1;
  assert.deepEqual(readStreamMessage(k), { kind: "keepalive", walEnd: 0x200n, replyRequested: true });
  const r = statusUpdate(0x300n);
  assert.equal(r.length, 34);
  assert.equal(r[0], 0x72);
  assert.equal(r.readBigUInt64BE(1), 0x300n);
  assert.equal(r.readBigUInt64BE(9), 0x300n);
  assert.equal(r[33], 0);
});

test("importing bspump loads none of the PostgreSQL client libraries; a connection loads pg when it is made", () => {
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", `
    import { createRequire } from "node:module";
    const loaded = () => [...new Set(Object.keys(createRequire(import.meta.url).cache).map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p)?.[1]).filter(Boolean))].sort();
    const bspump = await import("./src/index.ts");
    const before = loaded();
    const app = new bspump.BSPumpApplication({ args: [], handleSignals: false });
    new bspump.postgresql.PostgreSQLConnection(app, "PG");
    console.log(JSON.stringify({ before, after: loaded() }));
  `], { cwd: new URL("../..", import.meta.url), encoding: "utf8" });
  const { before, after } = JSON.parse(out.trim().split("\n").pop()!) as { before: string[]; after: string[] };
  for (const name of ["pg", "pg-cursor", "pg-copy-streams", "pg-logical-replication"]) assert.ok(!before.includes(name), `${name} loaded by the import (${before.join(", ")})`);
  assert.ok(after.includes("pg"), `pg not loaded by PostgreSQLConnection (${after.join(", ")})`);
});
