// @services mariadb
/**
 * The CDC fault test: 100,000 row changes in mixed transactions (inserts, updates, deletes over
 * three tables, one transaction of 10,000 rows) are read by a pump process that is SIGKILLed
 * mid-stream and started again from its stored position. Its output must hold every change, in
 * commit order per table; duplicates only for the tail that was not settled when it was killed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { sleep, until } from "../helpers/components.js";
import { rawUniqueName } from "../helpers/services.js";
import { client, DB } from "./helpers.js";
import { completeLines, countCompleteLines } from "../helpers/lines.js";

const WORKER = join(import.meta.dirname, "binlog-fault-worker.ts");
const TOTAL = 100_000;
const BIG = 10_000;

interface Worker {
  child: ChildProcess;
  exit: Promise<number | null>;
}

function startWorker(args: string[]): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, ...args], { stdio: ["ignore", "inherit", "inherit"] });
  return { child, exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}

interface Line {
  f: string;
  p: number;
  i: number;
  g: string;
  t: string;
  op: "I" | "U" | "D";
  id: number;
  v: number;
  b?: number;
}

function read(file: string): Line[] {
  return completeLines(file).map((l) => JSON.parse(l) as Line);
}

/** A change as the test expects it: operation, id, value (after), value before (updates). */
type Change = string;
const change = (op: string, id: number, v: number, b?: number): Change => `${op}:${id}:${v}${b === undefined ? "" : `:${b}`}`;

/** A table's live rows are ids [lo, next); inserts append, deletes take the lowest, updates a middle range. */
class Model {
  lo = 0;
  next = 0;
  readonly v = new Map<number, number>();
  readonly changes: Change[] = [];
  constructor(readonly name: string) {}
  get live(): number {
    return this.next - this.lo;
  }
  insert(n: number): [string, unknown[]] {
    const rows: number[][] = [];
    for (let k = 0; k < n; k++, this.next++) {
      rows.push([this.next, this.next * 10]);
      this.v.set(this.next, this.next * 10);
      this.changes.push(change("I", this.next, this.next * 10));
    }
    return [`INSERT INTO ${this.name} (id, v) VALUES ?`, [rows]];
  }
  update(from: number, n: number): [string, unknown[]] {
    const a = this.lo + from;
    const z = Math.min(this.next, a + n) - 1;
    for (let id = a; id <= z; id++) {
      const before = this.v.get(id)!;
      this.v.set(id, before + 1);
      this.changes.push(change("U", id, before + 1, before));
    }
    return [`UPDATE ${this.name} SET v = v + 1 WHERE id BETWEEN ? AND ?`, [a, z]];
  }
  delete(n: number): [string, unknown[]] {
    const a = this.lo;
    const z = Math.min(this.next, a + n) - 1;
    for (let id = a; id <= z; id++) {
      this.changes.push(change("D", id, this.v.get(id)!));
      this.v.delete(id);
    }
    this.lo = z + 1;
    return [`DELETE FROM ${this.name} WHERE id BETWEEN ? AND ?`, [a, z]];
  }
}

/** Mixed transactions until `TOTAL` changes were made; one of them inserts `BIG` rows. */
async function generate(db: Connection, models: Model[]): Promise<void> {
  let seed = 17;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const made = (): number => models.reduce((s, m) => s + m.changes.length, 0);
  let big = false;
  while (made() < TOTAL) {
    const statements: Array<[string, unknown[]]> = [];
    if (!big && made() > TOTAL / 3) {
      big = true;
      statements.push(models[0]!.insert(BIG));
    } else {
      const count = 1 + rnd(3);
      for (let s = 0; s < count && made() + 300 < TOTAL; s++) {
        const m = models[rnd(models.length)]!;
        const kind = rnd(10);
        if (kind < 5 || m.live < 200) statements.push(m.insert(1 + rnd(100)));
        else if (kind < 8) statements.push(m.update(rnd(m.live - 100), 1 + rnd(100)));
        else statements.push(m.delete(1 + rnd(60)));
      }
      if (statements.length === 0) statements.push(models[rnd(models.length)]!.insert(Math.min(100, TOTAL - made())));
    }
    await db.beginTransaction();
    for (const [sql, values] of statements) await db.query(sql, values);
    await db.commit();
  }
}

test("CDC fault test: 100,000 changes, the pump SIGKILLed mid-stream and restarted: every change, in commit order per table", { timeout: 120_000 }, async (t) => {
  const db = await client();
  const models = [0, 1, 2].map(() => new Model(rawUniqueName("fault")));
  const dir = mkdtempSync(join(tmpdir(), "bspump-binlog-fault-"));
  const workers: Worker[] = [];
  try {
    for (const m of models) await db.query(`CREATE TABLE ${m.name} (id INT PRIMARY KEY, v INT NOT NULL)`);
    const [status] = await db.query<RowDataPacket[]>("SHOW MASTER STATUS");
    const positionFile = join(dir, "position.json");
    const out = [join(dir, "run-1.jsonl"), join(dir, "run-2.jsonl")];
    const serverId = String(100_000 + Math.floor(Math.random() * 1_000_000_000));
    const args = (file: string): string[] => [positionFile, file, models.map((m) => `${DB.database}.${m.name}`).join(","), status[0]!.File as string, String(status[0]!.Position), serverId];

    workers.push(startWorker(args(out[0]!)));
    const generating = generate(db, models);
    // Killed once it has written a good part, while the rest is still ahead of it.
    await until(() => countCompleteLines(out[0]!) >= 30_000, 60_000, "the first pump to record 30,000 changes");
    // Between two writes of its sink (every 0.3 s): changes read but not yet written are lost with it.
    await sleep(150);
    workers[0]!.child.kill("SIGKILL");
    assert.equal(await workers[0]!.exit, null);
    const beforeKill = countCompleteLines(out[0]!);
    assert.ok(beforeKill < TOTAL, `the kill came mid-stream (${beforeKill} recorded before it)`);
    await sleep(200);

    workers.push(startWorker(args(out[1]!)));
    await generating;
    const expected = new Map(models.map((m) => [m.name, m.changes]));
    await until(() => countCompleteLines(out[0]!) + countCompleteLines(out[1]!) >= TOTAL, 60_000, "every change recorded").catch((e: Error) => {
      throw new Error(`${e.message}: ${countCompleteLines(out[0]!)} + ${countCompleteLines(out[1]!)}`);
    });
    // The whole stream, then: settled, and the position stored at its end.
    const first = read(out[0]!);
    const firstKeys = new Set(first.map((l) => `${l.f}:${l.p}:${l.i}`));
    let distinct = 0;
    await until(() => {
      const seen = new Set(firstKeys);
      for (const l of read(out[1]!)) seen.add(`${l.f}:${l.p}:${l.i}`);
      distinct = seen.size;
      return distinct >= TOTAL;
    }, 60_000, "every distinct change", 250).catch((e: Error) => {
      throw new Error(`${e.message}: ${distinct} of ${TOTAL}`);
    });
    await sleep(500);
    workers[1]!.child.kill("SIGTERM");
    assert.equal(await workers[1]!.exit, 0);

    const second = read(out[1]!);
    // Duplicates: what the second run wrote again, all of it at its beginning (the unsettled tail of the first run).
    const seen = new Set(firstKeys);
    let duplicates = 0;
    let fresh = false;
    for (const l of second) {
      const key = `${l.f}:${l.p}:${l.i}`;
      if (seen.has(key)) {
        duplicates++;
        assert.ok(!fresh, `a duplicate (${key}) after new changes: only the tail before the kill may come twice`);
      } else {
        fresh = true;
        seen.add(key);
      }
    }
    // Every change, in commit order per table (first occurrences).
    const got = new Map<string, Change[]>(models.map((m) => [m.name, []]));
    const once = new Set<string>();
    for (const l of [...first, ...second]) {
      const key = `${l.f}:${l.p}:${l.i}`;
      if (once.has(key)) continue;
      once.add(key);
      got.get(l.t)!.push(change(l.op, l.id, l.v, l.b));
    }
    for (const m of models) {
      const e = expected.get(m.name)!;
      const g = got.get(m.name)!;
      const firstDiff = e.findIndex((c, i) => g[i] !== c);
      assert.equal(g.length, e.length, `${m.name}: ${g.length} changes recorded, ${e.length} made`);
      assert.equal(firstDiff, -1, `${m.name}: change ${firstDiff} is ${g[firstDiff]}, expected ${e[firstDiff]}`);
    }
    // The transaction of 10,000 rows arrived whole.
    const bigGtids = new Map<string, number>();
    for (const l of [...first, ...second]) if (l.t === models[0]!.name && l.op === "I") bigGtids.set(l.g, (bigGtids.get(l.g) ?? 0) + 1);
    assert.ok([...bigGtids.values()].some((n) => n >= BIG), "one transaction of 10,000 inserts");
    const stored = JSON.parse(readFileSync(positionFile, "utf8")) as { log_file: string; log_pos: number };
    const last = second[second.length - 1]!;
    assert.ok(stored.log_file > last.f || (stored.log_file === last.f && stored.log_pos > last.p), "the stored position is past the last change");
    t.diagnostic(`recorded ${first.length} + ${second.length}, distinct ${once.size}, lost 0, duplicates ${duplicates} (recorded before the kill: ${beforeKill})`);
    console.log(`binlog fault test: lost 0, duplicates ${duplicates} of ${TOTAL} (the unsettled tail at the kill)`);
  } finally {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    for (const m of models) await db.query(`DROP TABLE IF EXISTS ${m.name}`);
    await db.end();
    rmSync(dir, { recursive: true, force: true });
  }
});
