import { test } from "node:test";
import assert from "node:assert/strict";
import { isRetryable, prepareWrite } from "../../src/mysql/index.js";

test("prepareWrite: BSPump's INSERT … VALUES (%s, …) becomes one multi-row VALUES ?", () => {
  const w = prepareWrite("INSERT INTO t (a, b, c) VALUES (%s, %s,%s)");
  assert.equal(w.arity, 3);
  assert.equal(w.bulk, "INSERT INTO t (a, b, c) VALUES ?");
  assert.equal(w.perRow, "INSERT INTO t (a, b, c) VALUES (?, ?,?)");
  const upsert = prepareWrite("insert into t (k, v) values (%s, %s) ON DUPLICATE KEY UPDATE v = VALUES(v)");
  assert.equal(upsert.bulk, "insert into t (k, v) VALUES ? ON DUPLICATE KEY UPDATE v = VALUES(v)");
  const replace = prepareWrite("REPLACE INTO t VALUES (%s)");
  assert.equal(replace.bulk, "REPLACE INTO t VALUES ?");
});

test("prepareWrite: other statements run per row as prepared statements", () => {
  const u = prepareWrite("UPDATE t SET v = %s WHERE k = %s");
  assert.equal(u.bulk, null);
  assert.equal(u.perRow, "UPDATE t SET v = ? WHERE k = ?");
  assert.equal(u.arity, 2);
  const extra = prepareWrite("INSERT INTO t (a, b) VALUES (%s, 1) ON DUPLICATE KEY UPDATE b = %s");
  assert.equal(extra.bulk, null);
});

test("isRetryable: BSPump's RetryErrors and lost connections, not data errors", () => {
  assert.equal(isRetryable({ errno: 1213 }), true);
  assert.equal(isRetryable({ errno: 2013 }), true);
  assert.equal(isRetryable({ code: "ECONNREFUSED" }), true);
  assert.equal(isRetryable({ errno: 1062, code: "ER_DUP_ENTRY" }), false);
  assert.equal(isRetryable({ errno: 1054 }), false);
  assert.equal(isRetryable(null), false);
});
