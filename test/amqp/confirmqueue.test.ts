import { test } from "node:test";
import assert from "node:assert/strict";
import { Receipt } from "../../src/core/index.js";
import { ConfirmQueue } from "../../src/amqp/ConfirmQueue.js";

test("ConfirmQueue settles receipts in publish order, runs of one receipt kept as one entry", () => {
  const done: string[] = [];
  const a = new Receipt((r) => done.push(`a:${r.settledCount}/${r.failedCount}`));
  const b = new Receipt((r) => done.push(`b:${r.settledCount}/${r.failedCount}:${r.error?.message}`));
  const q = new ConfirmQueue();
  a.add(3);
  b.add(2);
  for (let i = 0; i < 3; i++) q.push(a);
  q.push(undefined);
  q.push(b);
  q.push(b);
  a.seal();
  b.seal();
  assert.equal(q.size, 6);
  q.shift(null);
  q.shift(null);
  assert.deepEqual(done, []);
  q.shift(null);
  assert.deepEqual(done, ["a:3/0"]);
  q.shift(null); // the receipt-less message
  q.shift(new Error("nacked"));
  q.failAll(new Error("closed"));
  assert.deepEqual(done, ["a:3/0", "b:0/2:nacked"]);
  assert.equal(q.size, 0);
});

test("ConfirmQueue compacts after many confirms", () => {
  const q = new ConfirmQueue();
  let settled = 0;
  for (let round = 0; round < 5; round++) {
    const rs: Receipt[] = [];
    for (let i = 0; i < 3000; i++) {
      const r = new Receipt(() => settled++);
      r.add();
      r.seal();
      rs.push(r);
      q.push(r);
    }
    for (let i = 0; i < 3000; i++) q.shift(null);
  }
  assert.equal(settled, 15000);
  assert.equal(q.size, 0);
});
