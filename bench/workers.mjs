// W1 with worker processes: 8 files of JSON lines read by `workers = 1` and `workers = 2`, in the
// same run. Times from the moment the files appear (every worker ready) until every file is read
// and deleted; then the supervisor's /metrics must count every line in (the workers' start is not
// counted: it happens once per pump).
// Usage: node bench/workers.mjs <events.jsonl> [reps=3] [files=8]; prints a table and JSON lines.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [data, repsArg = "3", filesArg = "8"] = process.argv.slice(2);
const reps = Number(repsArg);
const nFiles = Number(filesArg);
const lines = readFileSync(data, "utf8").split("\n").filter((l) => l !== "");
const per = Math.ceil(lines.length / nFiles);
const chunks = Array.from({ length: nFiles }, (_, i) => lines.slice(i * per, (i + 1) * per).join("\n") + "\n");
const total = lines.length;
const expectedIn = total;

async function json(url) {
  return (await fetch(url)).json();
}

async function once(workers) {
  const dir = mkdtempSync(join(tmpdir(), "bspump-bench-workers-"));
  mkdirSync(join(dir, "in"));
  mkdirSync(join(dir, "stage"));
  chunks.forEach((c, i) => writeFileSync(join(dir, "stage", `part${i}.jsonl`), c));
  const child = spawn(process.execPath, [join(import.meta.dirname, "workers-pump.mjs"), join(dir, "in"), "--workers", String(workers), "-w", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  try {
    let url;
    while (!(url = /listening on (http:\/\/[^"\s]+)/.exec(out)?.[1])) {
      if (child.exitCode !== null) throw new Error(out);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (workers > 1) while (!(await json(`${url}/health`)).workers.every((w) => w.state === "ready")) await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    for (let i = 0; i < nFiles; i++) renameSync(join(dir, "stage", `part${i}.jsonl`), join(dir, "in", `part${i}.jsonl`));
    // Done when every file is gone (`post = delete` removes a file once its lines are settled):
    // watching the folder costs the workers nothing, where polling /metrics every few ms would
    // make the supervisor gather from them over IPC each time.
    while (readdirSync(join(dir, "in")).length > 0) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - t0) / 1000;
    for (let tries = 0; ; tries++) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m = /^bspump_pipeline_event_in_total\{pipeline="W1"\} (\d+)$/m.exec(text);
      if (m && Number(m[1]) === expectedIn) break;
      if (tries > 100) throw new Error(`the files are gone but the pump counted ${m?.[1]} of ${expectedIn} lines`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return seconds;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.on("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = { 1: [], 2: [] };
for (let r = 0; r < reps; r++) for (const w of [1, 2]) results[w].push(await once(w));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratios = results[1].map((t, i) => t / results[2][i]);
for (const w of [1, 2]) {
  const s = median(results[w]);
  process.stdout.write(JSON.stringify({ system: "pump", workload: `W1-workers${w}`, events: total, files: nFiles, seconds: s, eps: Math.round(total / s), runs: results[w] }) + "\n");
}
process.stdout.write(`W1 over ${nFiles} files, ${total} events: workers=1 ${median(results[1]).toFixed(2)} s, workers=2 ${median(results[2]).toFixed(2)} s; speed-up ${median(ratios).toFixed(2)}× (runs ${ratios.map((x) => x.toFixed(2)).join(", ")})\n`);
