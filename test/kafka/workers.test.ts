// @services kafka
/**
 * Worker processes in a consumer group: two pumps of two workers each (`[bspump] workers = 2`)
 * share a 6-partition topic; one worker is SIGKILLed mid-stream. Its supervisor starts it again,
 * the group rebalances, and when the group has committed everything every event id is recorded.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { BROKER, committed, createTopic, latest, produce, unique, until } from "./helpers.js";
import { childPids } from "../core/workers-helpers.js";
import { completeLines } from "../helpers/lines.js";

const PUMP = fileURLToPath(new URL("./fault-worker.ts", import.meta.url));
const TOTAL = 100_000;

function linesIn(dir: string, prefix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) if (name.startsWith(prefix)) out.push(...completeLines(join(dir, name), "latin1"));
  return out;
}

function count(file: string): number {
  return existsSync(file) ? readFileSync(file, "latin1").split("\n").length - 1 : 0;
}

test("2 pumps × 2 workers in one group, one worker SIGKILLed: restarted, no event lost", { timeout: 240_000 }, async (t) => {
  const topic = unique("workers");
  const group = unique("workers-group");
  await createTopic(topic, 6);
  await produce(topic, Array.from({ length: TOTAL }, (_, i) => ({ value: String(i) })), 20000);

  const dir = mkdtempSync(join(tmpdir(), "bspump-kafka-workers-"));
  let output = "";
  const pumps: { child: ChildProcess; exit: Promise<number | null> }[] = [0, 1].map((i) => {
    const child = spawn(process.execPath, ["--import", "tsx", PUMP, BROKER, topic, group, join(dir, `pump${i}.ids`)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: "1", FAULT_WORKERS: "2", FAULT_PER_TICK: "200", FAULT_LOG: "info" },
    });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    return { child, exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
  });
  try {
    const victimFile = join(dir, "pump0.ids.1");
    await until(() => count(victimFile) >= 2000, 120_000, "pump 0's worker 1 to record events").catch((e: Error) => {
      throw new Error(`${e.message}\n${output.slice(-3000)}`);
    });
    // Worker 1 of pump 0: the child of the supervisor whose output file is growing (the later fork).
    const kids = childPids(pumps[0]!.child.pid!).sort((a, b) => a - b);
    assert.equal(kids.length, 2, `pump 0 has two workers: ${kids}`);
    const before = linesIn(dir, "pump").length;
    process.kill(kids[1]!, "SIGKILL");
    assert.ok(before < TOTAL, `the kill came mid-stream (${before} recorded before it)`);
    await until(() => /died \(signal SIGKILL\); starting it again/.test(output), 30_000, "the supervisor to notice");

    await until(
      async () => {
        const ends = await latest(topic);
        const c = await committed(group, topic);
        return [...ends].every(([p, end]) => c.get(p) === end);
      },
      180_000,
      "the group to commit every partition to its end",
    );
    for (const p of pumps) p.child.kill("SIGTERM");
    for (const p of pumps) assert.equal(await p.exit, 0, output.slice(-3000));

    const all = linesIn(dir, "pump");
    const seen = new Set(all);
    t.diagnostic(`recorded ${all.length}, distinct ${seen.size}, duplicates ${all.length - seen.size}; files ${readdirSync(dir).join(", ")}`);
    assert.equal(seen.size, TOTAL, `${TOTAL - seen.size} events lost`);
    // Each of the four workers took part.
    for (const f of ["pump0.ids.0", "pump0.ids.1", "pump1.ids.0", "pump1.ids.1"]) assert.ok(count(join(dir, f)) > 0, `${f} recorded events`);
  } finally {
    for (const p of pumps) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
