// @services kafka
/**
 * Fault test: three pump processes in one consumer group share a 6-partition topic of 200,000
 * events; one is killed with SIGKILL mid-stream. When the others have finished, every event id must
 * be recorded (none lost); duplicates (events redelivered because they were not yet committed at
 * the kill) are reported.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { BROKER, committed, createTopic, latest, produce, unique, until } from "./helpers.js";
import { completeLines, countCompleteLines } from "../helpers/lines.js";

const WORKER = fileURLToPath(new URL("./fault-worker.ts", import.meta.url));
const TOTAL = 200_000;

function lines(file: string): string[] {
  return completeLines(file, "latin1");
}

interface Worker {
  child: ChildProcess;
  exit: Promise<number | null>;
}

/** A pump process of the group recording the ids it consumed in `file`. */
function startWorker(topic: string, group: string, file: string, env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, BROKER, topic, group, file], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: "1", ...env },
  });
  return { child, exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}

/** Waits until the group committed every partition to its end. */
async function allCommitted(topic: string, group: string): Promise<void> {
  const ends = await latest(topic);
  await until(
    async () => {
      const c = await committed(group, topic);
      return [...ends].every(([p, end]) => c.get(p) === end);
    },
    150_000,
    "the group to commit every partition to its end",
  );
}

/** The ids the workers recorded: distinct and in all (the difference is duplicates). */
function tally(files: string[]): { seen: Set<string>; recorded: number } {
  const seen = new Set<string>();
  let recorded = 0;
  for (const f of files) {
    for (const id of lines(f)) {
      seen.add(id);
      recorded++;
    }
  }
  return { seen, recorded };
}

test("3 pumps in one group, one SIGKILLed mid-stream: no event lost", { timeout: 180_000 }, async (t) => {
  const topic = unique("fault");
  const group = unique("fault-group");
  await createTopic(topic, 6);
  const ids = Array.from({ length: TOTAL }, (_, i) => ({ value: String(i) }));
  await produce(topic, ids, 20000);

  const dir = mkdtempSync(join(tmpdir(), "bspump-kafka-fault-"));
  const files = [0, 1, 2].map((i) => join(dir, `worker-${i}.ids`));
  const workers = files.map((file) => startWorker(topic, group, file));
  try {
    // Kill worker 0 once it has recorded some events, while most of the stream is still ahead.
    // (Each worker records at most ~10,000 events/s, so the stream lasts several seconds.)
    await until(() => countCompleteLines(files[0]!) >= 3000 && files.every((f) => countCompleteLines(f) > 0), 90_000, "every worker to record events").catch((e: Error) => {
      throw new Error(`${e.message}: ${files.map(countCompleteLines).join(", ")}`);
    });
    const before = files.reduce((s, f) => s + countCompleteLines(f), 0);
    workers[0]!.child.kill("SIGKILL");
    assert.equal(await workers[0]!.exit, null);
    assert.ok(before < TOTAL, `the kill came mid-stream (${before} recorded before it)`);

    // The others take over worker 0's partitions after its session times out, and finish.
    await allCommitted(topic, group);
    for (const w of workers.slice(1)) w.child.kill("SIGTERM");
    for (const w of workers.slice(1)) assert.equal(await w.exit, 0);

    const { seen, recorded } = tally(files);
    const missing = TOTAL - seen.size;
    const duplicates = recorded - seen.size;
    t.diagnostic(`recorded ${recorded}, distinct ${seen.size}, lost ${missing}, duplicates ${duplicates} (recorded before the kill: ${before})`);
    console.log(`fault test: lost ${missing}, duplicates ${duplicates} of ${TOTAL}`);
    assert.equal(seen.size, TOTAL, `${missing} events lost`);
    for (let i = 0; i < TOTAL; i += 9973) assert.ok(seen.has(String(i)));
  } finally {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a fourth pump joins the group mid-stream and leaves again: no event lost", { timeout: 180_000 }, async (t) => {
  const topic = unique("rebalance");
  const group = unique("rebalance-group");
  await createTopic(topic, 6);
  await produce(topic, Array.from({ length: TOTAL }, (_, i) => ({ value: String(i) })), 20000);

  const dir = mkdtempSync(join(tmpdir(), "bspump-kafka-rebalance-"));
  const files = [0, 1, 2, 3].map((i) => join(dir, `worker-${i}.ids`));
  // 200 ids per 50 ms and worker: the stream lasts long enough for a member to join and leave.
  const start = (file: string): Worker => startWorker(topic, group, file, { FAULT_PER_TICK: "200" });
  const workers = files.slice(0, 3).map(start);
  try {
    await until(() => files.slice(0, 3).every((f) => countCompleteLines(f) > 0), 90_000, "every worker to record events");
    const fourth = start(files[3]!);
    workers.push(fourth);
    await until(() => countCompleteLines(files[3]!) >= 2000, 90_000, "the fourth worker to take partitions and record events");
    const before = files.reduce((s, f) => s + countCompleteLines(f), 0);
    assert.ok(before < TOTAL, `it joined mid-stream (${before} recorded)`);
    fourth.child.kill("SIGTERM");
    assert.equal(await fourth.exit, 0, "the fourth worker leaves gracefully");

    await allCommitted(topic, group);
    for (const w of workers.slice(0, 3)) w.child.kill("SIGTERM");
    for (const w of workers.slice(0, 3)) assert.equal(await w.exit, 0);

    const { seen, recorded } = tally(files);
    t.diagnostic(`recorded ${recorded}, distinct ${seen.size}, lost ${TOTAL - seen.size}, duplicates ${recorded - seen.size}`);
    console.log(`rebalance test: lost ${TOTAL - seen.size}, duplicates ${recorded - seen.size} of ${TOTAL}`);
    assert.equal(seen.size, TOTAL, `${TOTAL - seen.size} events lost`);
  } finally {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
