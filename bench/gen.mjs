// Deterministic test data for the benchmarks: N events as JSON lines and as CSV (same events).
// Usage: node bench/gen.mjs <dir> [count]   — skips the work when the files already match.
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? ".bench/data";
const count = Number(process.argv[3] ?? 1_000_000);
const SEED = 20240601;
const stamp = join(dir, "DONE");
const want = JSON.stringify({ count, seed: SEED, version: 1 });
if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) process.exit(0);
mkdirSync(dir, { recursive: true });

// mulberry32: small, fast, deterministic PRNG.
let state = SEED >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);

const ACTIONS = ["view", "click", "login", "logout", "purchase", "search", "share", "noop"];
const SEGMENTS = ["products", "catalog", "account", "checkout", "search", "articles", "media", "help", "api", "static"];
const START = 1_700_000_000; // event time; 1,000,000 events over ~1 hour → ~60 windows of 60 s

const json = createWriteStream(join(dir, "events.jsonl"), { highWaterMark: 1 << 20 });
const csv = createWriteStream(join(dir, "events.csv"), { highWaterMark: 1 << 20 });
csv.write("ts,user,ip,action,bytes,duration,url\n");
let jb = [];
let cb = [];
for (let i = 0; i < count; i++) {
  const ts = Math.round((START + (i * 3600) / count + rand()) * 1000) / 1000;
  const user = `user${String(int(10_000)).padStart(5, "0")}`;
  const ip = `10.${int(256)}.${int(256)}.${int(256)}`;
  const action = ACTIONS[int(8)];
  const bytes = int(1_000_000);
  const duration = Math.round(rand() * 5_000_000) / 1000;
  const url = `https://www.example.com/${SEGMENTS[int(10)]}/${SEGMENTS[int(10)]}/item-${int(1_000_000)}?session=${int(2 ** 31).toString(16).padStart(8, "0")}&ref=campaign-${int(1000)}&lang=en-US`;
  jb.push(JSON.stringify({ ts, user, ip, action, bytes, duration, url }));
  cb.push(`${ts},${user},${ip},${action},${bytes},${duration},${url}`);
  if (jb.length === 10_000) {
    if (!json.write(jb.join("\n") + "\n")) await new Promise((r) => json.once("drain", r));
    if (!csv.write(cb.join("\n") + "\n")) await new Promise((r) => csv.once("drain", r));
    jb = [];
    cb = [];
  }
}
if (jb.length) {
  json.write(jb.join("\n") + "\n");
  csv.write(cb.join("\n") + "\n");
}
await Promise.all([new Promise((r) => json.end(r)), new Promise((r) => csv.end(r))]);
writeFileSync(stamp, want);
