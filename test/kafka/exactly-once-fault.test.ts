// @services kafka
/**
 * Fault test of exactly-once (issue 15 item 2): three pump processes in one consumer group read a
 * 6-partition topic of 200,000 events and write each to an output topic. One process is
 * SIGKILLed mid-stream; another is SIGSTOPped longer than its `transaction.timeout.ms`, so the
 * broker aborts its open transaction and the group gives its partitions away (it is a zombie
 * when it wakes up). Kafka's own console consumer, read_committed, then counts every id of the output: with
 * `exactly_once` 0 lost and 0 duplicates; the same run at-least-once reports the duplicates the
 * faults made, so the test tells the two apart.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { BROKER, committed, createTopic, latest, produce, unique, until } from "./helpers.js";
import { consoleConsumeCommitted } from "./tools.js";

const WORKER = fileURLToPath(new URL("./eos-worker.ts", import.meta.url));
const TOTAL = 200_000;
/** The SIGSTOP: the worker's transaction.timeout.ms (6 s) + the broker's check for timed-out transactions (every 10 s) + a margin. */
const STOP_MS = 18_000;

interface Worker {
  child: ChildProcess;
  exit: Promise<number | null>;
}

function startWorker(input: string, group: string, output: string, exactlyOnce: boolean): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, BROKER, input, group, output], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, EXACTLY_ONCE: exactlyOnce ? "1" : "0", FAULT_LOG: process.env.FAULT_LOG ?? "error" },
  });
  return { child, exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}

async function outputSize(topic: string): Promise<number> {
  return [...(await latest(topic)).values()].reduce((s, n) => s + n, 0);
}

async function run(t: { diagnostic(message: string): void }, exactlyOnce: boolean): Promise<{ lost: number; duplicates: number }> {
  const mode = exactlyOnce ? "exactly_once" : "at-least-once";
  const input = unique("eosf-in");
  const output = unique("eosf-out");
  const group = unique("eosf-group");
  await createTopic(input, 6);
  await createTopic(output, 6);
  await produce(input, Array.from({ length: TOTAL }, (_, i) => ({ value: String(i) })), 20000);
  const workers = [0, 1, 2].map(() => startWorker(input, group, output, exactlyOnce));
  try {
    await until(async () => (await outputSize(output)) >= 30_000, 90_000, "the workers to produce output");
    workers[0]!.child.kill("SIGKILL");
    assert.equal(await workers[0]!.exit, null);
    const atKill = await outputSize(output);
    assert.ok(atKill < TOTAL, `the kill came mid-stream (${atKill} records out)`);
    // The zombie: stopped past its transaction timeout; the broker aborts its transaction and the group moves on.
    workers[1]!.child.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, STOP_MS));
    workers[1]!.child.kill("SIGCONT");
    await until(
      async () => {
        const [c, ends] = await Promise.all([committed(group, input), latest(input)]);
        return [...ends].every(([p, end]) => c.get(p) === end);
      },
      120_000,
      "the group to commit every input partition to its end",
    );
    for (const w of workers.slice(1)) w.child.kill("SIGTERM");
    // The zombie may need its stop_timeout (its last abort waits on the broker): it exits either way.
    const codes = await Promise.all(workers.slice(1).map((w) => w.exit));
    assert.ok(codes.every((c) => c === 0 || c === 1), `the workers exit on SIGTERM (${codes.join(", ")})`);
    // Kafka's own consumer, read_committed (see consoleConsumeCommitted: kafkajs' miscounts aborted records).
    const values = await consoleConsumeCommitted(output);
    const seen = new Set(values);
    const lost = TOTAL - [...seen].filter((v) => Number(v) < TOTAL).length;
    const duplicates = values.length - seen.size;
    t.diagnostic(`${mode}: ${values.length} committed records, ${seen.size} distinct, lost ${lost}, duplicates ${duplicates} (${atKill} out at the kill)`);
    console.log(`exactly-once fault test (${mode}): lost ${lost}, duplicates ${duplicates} of ${TOTAL}`);
    return { lost, duplicates };
  } finally {
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill("SIGCONT");
        w.child.kill("SIGKILL");
      }
    }
  }
}

test("exactly_once: 3 pumps, one SIGKILLed, one stopped past its transaction timeout: 0 lost, 0 duplicates", { timeout: 240_000 }, async (t) => {
  const { lost, duplicates } = await run(t, true);
  assert.equal(lost, 0);
  assert.equal(duplicates, 0);
});

test("at-least-once, the same faults: nothing lost, and the duplicates the faults made are counted", { timeout: 240_000 }, async (t) => {
  const { lost, duplicates } = await run(t, false);
  assert.equal(lost, 0);
  assert.ok(duplicates > 0, `at-least-once redelivers what was not committed at the kill (${duplicates} duplicates)`);
});
