// K1 with worker processes (issue 22): a 6-partition input topic (the K1 data) read by a pump with
// `workers = 1` and with `workers = 2`, alternating, in one run. Each round: a fresh output topic
// and consumer group; the pipelines stay throttled until the group is Stable with every worker
// holding partitions (the start and the first rebalance are not timed); then the clock runs until
// the output topic holds every event.
// Usage: node bench/workers-kafka.mjs <events.jsonl> [reps=3]; prints JSON lines and a summary.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as admin from "./servers-admin.mjs";

const PARTITIONS = 6;
const [data, repsArg = "3"] = process.argv.slice(2);
const reps = Number(repsArg);
const run = `${Date.now().toString(36)}-${process.pid}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function once(input, total, workers, round) {
  const dir = mkdtempSync(join(tmpdir(), "bspump-bench-k1w-"));
  const gate = join(dir, "go");
  const output = `bench-k1w-out-${run}-${workers}-${round}`;
  const group = `bench-k1w-${run}-${workers}-${round}`;
  await admin.createTopic(output, PARTITIONS);
  admin.noteGroup(group);
  const child = spawn(process.execPath, [join(import.meta.dirname, "workers-kafka-pump.mjs"), admin.KAFKA_BROKER, input, output, group, gate, "--workers", String(workers), "-w", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  try {
    const deadline = Date.now() + 120_000;
    const alive = () => {
      if (child.exitCode !== null) throw new Error(`the pump exited: ${out.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`the group did not settle: ${out.slice(-2000)}`);
    };
    while (!/listening on http/.test(out)) (alive(), await sleep(20));
    while ((await admin.stableMembers(group)) < workers) (alive(), await sleep(100));
    const t0 = performance.now();
    writeFileSync(gate, "");
    let count = 0;
    while ((count = await admin.topicCount(output)) < total) (alive(), await sleep(20));
    return { seconds: (performance.now() - t0) / 1000, count };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.on("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const input = `bench-k1w-in-${run}`;
try {
  const total = await admin.fillTopic(input, data, PARTITIONS);
  const results = { 1: [], 2: [] };
  for (let r = 0; r < reps; r++) for (const w of [1, 2]) results[w].push(await once(input, total, w, r));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const seconds = (w) => results[w].map((x) => x.seconds);
  const ratios = seconds(1).map((t, i) => t / seconds(2)[i]);
  for (const w of [1, 2]) {
    const s = median(seconds(w));
    process.stdout.write(JSON.stringify({ system: "pump", workload: `K1-workers${w}`, events: total, partitions: PARTITIONS, seconds: s, eps: Math.round(total / s), runs: seconds(w), written: results[w].map((x) => x.count) }) + "\n");
  }
  process.stdout.write(`K1 over ${PARTITIONS} partitions, ${total} events: workers=1 ${median(seconds(1)).toFixed(2)} s, workers=2 ${median(seconds(2)).toFixed(2)} s; speed-up ${median(ratios).toFixed(2)}× (runs ${ratios.map((x) => x.toFixed(2)).join(", ")}); records written per run ${[...results[1], ...results[2]].map((x) => x.count).join(", ")} (more than ${total}: duplicates)\n`);
} finally {
  await admin.kafkaCleanup();
}
