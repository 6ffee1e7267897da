// The ContentFilter's own cost per event, without I/O or parsing: the compiled C1 query against the
// hand-written `if` over the same parsed events, interleaved, best of N rounds each.
// Usage: node bench/query-micro.mjs <events.jsonl> [events, default 200000] [rounds, default 9]
import { closeSync, openSync, readSync } from "node:fs";
import { compileQuery } from "../dist/src/common/query.js";
import { C1_QUERY, c1Keep } from "./work.mjs";

const [file, n = "200000", rounds = "9"] = process.argv.slice(2);
// The first n lines (read a few MiB, not the whole file).
const fd = openSync(file, "r");
const buf = Buffer.alloc(Number(n) * 400);
const got = readSync(fd, buf, 0, buf.length, 0);
closeSync(fd);
const events = buf.toString("utf8", 0, got).split("\n", Number(n)).filter((l) => l.endsWith("}")).map((l) => JSON.parse(l));
const match = compileQuery(C1_QUERY);
const best = { query: Infinity, if: Infinity };
let kept = [0, 0];
for (let r = 0; r < Number(rounds); r++) {
  let t = performance.now();
  let k = 0;
  for (const e of events) if (match(e)) k++;
  best.query = Math.min(best.query, performance.now() - t);
  kept[0] = k;
  t = performance.now();
  k = 0;
  for (const e of events) if (c1Keep(e)) k++;
  best.if = Math.min(best.if, performance.now() - t);
  kept[1] = k;
}
if (kept[0] !== kept[1]) throw new Error(`the query kept ${kept[0]}, the if ${kept[1]}`);
const ns = (ms) => ((ms * 1e6) / events.length).toFixed(1);
process.stdout.write(JSON.stringify({ events: events.length, kept: kept[0], query_ns: Number(ns(best.query)), if_ns: Number(ns(best.if)) }) + "\n");
