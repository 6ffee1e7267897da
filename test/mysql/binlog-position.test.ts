import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinlogPositionFile } from "../../src/mysql/index.js";
import { SettledPosition, type BinlogTransaction } from "../../src/mysql/binlogPosition.js";

test("the settled position moves in commit order only, over transactions settled in any order; GTIDs per domain", () => {
  const s = new SettledPosition({ log_file: "b.000001", log_pos: 4, gtid: "0-1-10,1-1-5" });
  const done: BinlogTransaction[] = [];
  const begin = (gtid: string, end: number): BinlogTransaction => {
    const tx = s.begin(gtid, false, (t) => done.push(t));
    tx.end = { log_file: "b.000001", log_pos: end };
    tx.receipt.add();
    tx.receipt.seal();
    return tx;
  };
  const a = begin("0-1-11", 100);
  const b = begin("1-1-6", 200);
  const c = begin("0-1-12", 300);
  c.receipt.settle();
  assert.equal(s.settled(done.pop()!), false, "c is settled, but a and b are not");
  assert.deepEqual(s.position, { log_file: "b.000001", log_pos: 4, gtid: "0-1-10,1-1-5" });
  a.receipt.settle();
  assert.equal(s.settled(done.pop()!), true);
  assert.deepEqual(s.position, { log_file: "b.000001", log_pos: 100, gtid: "0-1-11,1-1-5" });
  b.receipt.settle();
  s.settled(done.pop()!);
  assert.deepEqual(s.position, { log_file: "b.000001", log_pos: 300, gtid: "0-1-12,1-1-6" });
  assert.equal(s.inFlight, 0);
  // A transaction with nothing handed over is done when sealed.
  const empty = s.begin("0-1-13", false, (t) => done.push(t));
  empty.end = { log_file: "b.000002", log_pos: 50 };
  empty.receipt.seal();
  s.settled(done.pop()!);
  assert.deepEqual(s.position, { log_file: "b.000002", log_pos: 50, gtid: "0-1-13,1-1-6" });
});

test("the position file: written atomically, read back; anything else in it is an error naming it, not a fresh start", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-binlogpos-"));
  const file = new BinlogPositionFile(join(dir, "sub", "pos.json"));
  assert.equal(await file.load(), null);
  await file.save({ log_file: "mariadb-bin.000003", log_pos: 1234, gtid: "0-1-99" });
  assert.deepEqual(await file.load(), { log_file: "mariadb-bin.000003", log_pos: 1234, gtid: "0-1-99" });
  assert.deepEqual(readdirSync(join(dir, "sub")), ["pos.json"], "no temporary file left");
  for (const bad of ["{", "{}", '{"log_file":"","log_pos":4,"gtid":""}', '{"log_file":"x","log_pos":"4","gtid":""}']) {
    writeFileSync(join(dir, "sub", "pos.json"), bad);
    await assert.rejects(file.load(), /pos\.json is not valid JSON of \{log_file, log_pos, gtid\}/);
  }
});
