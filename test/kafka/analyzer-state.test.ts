// @services kafka
/**
 * Analyzer state across rebalances (issue 15 item 4): a partitioned TimeWindowAnalyzer and
 * SessionAnalyzer keyed by the Kafka key, behind a KafkaSource with `state_topic`, over 100,000
 * events of 1,000 keys in 4 partitions. Two pump processes share the group; one is stopped
 * (SIGTERM), started again, and later the other is SIGKILLed mid-window. The windows and sessions emitted by
 * all processes, per key and window or session, must equal those of a single-process run of the same input; with
 * at-least-once a window may come twice, with identical content (counted and printed). The same
 * scenario with `exactly_once` (the results produced to a topic in the source's transactions, the
 * checkpoints with them), the sink also failing every 5,000th event (aborts without a rebalance,
 * whose partitions' state must roll back): a read_committed reader of that topic sees each window
 * and session once.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { BROKER, committed, createTopic, latest, produce, unique, until, type TestMessage } from "./helpers.js";
import { completeLines } from "../helpers/lines.js";
import { consoleConsumeCommitted } from "./tools.js";

const WORKER = fileURLToPath(new URL("./state-worker.ts", import.meta.url));
const TOTAL = 100_000;
const KEYS = 1_000;
const PARTITIONS = 4;

interface Worker {
  child: ChildProcess;
  exit: Promise<number | null>;
}

function startWorker(topic: string, group: string, stateTopic: string, file: string, env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, BROKER, topic, group, stateTopic, file], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...env },
  });
  return { child, exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}

async function committedTotal(group: string, topic: string): Promise<number> {
  let n = 0;
  for (const v of (await committed(group, topic)).values()) n += Math.max(0, v);
  return n;
}

async function allCommitted(topic: string, group: string, timeoutMs: number): Promise<void> {
  const ends = await latest(topic);
  await until(async () => {
    const c = await committed(group, topic);
    return [...ends].every(([p, end]) => c.get(p) === end);
  }, timeoutMs, "the group to commit every partition to its end");
}

/** The lines of the runs' files (a missing file: none). */
function fileLines(files: string[]): string[] {
  return files.flatMap((f) => completeLines(f));
}

/** Results (JSON lines) by identity (key and window), with their content; duplicates counted. */
function results(lines: string[], identity: (r: Record<string, unknown>) => string): { byId: Map<string, string>; lines: number; duplicates: number; conflicts: string[] } {
  const byId = new Map<string, string>();
  let duplicates = 0;
  const conflicts: string[] = [];
  for (const line of lines) {
    const r = JSON.parse(line) as Record<string, unknown>;
    const id = identity(r);
    const content = JSON.stringify(r);
    const before = byId.get(id);
    if (before === undefined) byId.set(id, content);
    else if (before === content) duplicates++;
    else conflicts.push(`${id}: ${before} vs ${content}`);
  }
  return { byId, lines: lines.length, duplicates, conflicts };
}

/** 100,000 events, key k<i mod 1000>, event time 0.01 s apart (so each partition's events come in time order). */
function input(): TestMessage[] {
  const out: TestMessage[] = [];
  for (let i = 0; i < TOTAL; i++) out.push({ key: `k${i % KEYS}`, value: `${1_700_000_000 + i * 0.01},${i % 7}` });
  return out;
}

/** A result's identity: the analyzer, the key, the window or session start. */
function identity(r: Record<string, unknown>): string {
  return r.analyzer === "Windows" ? `W|${String(r.dimension)}|${String(r.window_start)}` : `S|${String(r.key)}|${String(r.start)}`;
}

/** The input topic and the single-process run's results, made once for the tests of this file. */
let shared: Promise<{ topic: string; reference: ReturnType<typeof results> }> | null = null;

function inputAndReference(dir: string, workers: Worker[]): Promise<{ topic: string; reference: ReturnType<typeof results> }> {
  shared ??= (async () => {
    const topic = unique("state-in");
    await createTopic(topic, PARTITIONS);
    await produce(topic, input());
    // The reference: one process reads everything.
    const refFile = join(dir, "reference.jsonl");
    const refGroup = unique("state-ref");
    const ref = startWorker(topic, refGroup, unique("state-ref-changelog"), refFile, { STATE_PER_TICK: "3000" });
    workers.push(ref);
    await allCommitted(topic, refGroup, 60_000);
    ref.child.kill("SIGTERM");
    assert.equal(await ref.exit, 0);
    const reference = results(fileLines([refFile]), identity);
    assert.equal(reference.duplicates, 0);
    // 1,000 s of event time: 19 closed 50 s windows per key (the last stays open); sessions of at
    // most 200 s: 4 closed per key (the fifth stays open).
    assert.equal(kinds(reference.byId, "W|"), 19 * KEYS);
    assert.equal(kinds(reference.byId, "S|"), 4 * KEYS);
    return { topic, reference };
  })();
  return shared;
}

function kinds(m: Map<string, string>, k: string): number {
  return [...m.keys()].filter((id) => id.startsWith(k)).length;
}

/**
 * Two processes on the group; one stopped (SIGTERM), started again; the other SIGKILLed mid-window
 * and a third started; all stopped once the group committed everything. Returns the processes'
 * result files and the events committed at the stop and the kill.
 */
async function twoProcesses(topic: string, dir: string, workers: Worker[], env: Record<string, string>): Promise<{ files: string[]; afterStop: number; atKill: number }> {
  const group = unique("state-group");
  const changelog = unique("state-changelog");
  const files = ["a1", "b", "a2", "c"].map((n) => join(dir, `${group}-${n}.jsonl`));
  const a1 = startWorker(topic, group, changelog, files[0]!, env);
  const b = startWorker(topic, group, changelog, files[1]!, env);
  workers.push(a1, b);
  await until(async () => (await committedTotal(group, topic)) >= 15_000, 60_000, "15,000 events committed");
  a1.child.kill("SIGTERM");
  assert.equal(await a1.exit, 0);
  const afterStop = await committedTotal(group, topic);
  await until(async () => (await committedTotal(group, topic)) >= afterStop + 10_000, 60_000, "10,000 more events committed by the other process");
  const a2 = startWorker(topic, group, changelog, files[2]!, env);
  workers.push(a2);
  await until(async () => existsSync(files[2]!), 60_000, "the restarted process to emit results (it got partitions with state)");
  b.child.kill("SIGKILL");
  await b.exit;
  const atKill = await committedTotal(group, topic);
  const c = startWorker(topic, group, changelog, files[3]!, env);
  workers.push(c);
  await allCommitted(topic, group, 90_000);
  a2.child.kill("SIGTERM");
  c.child.kill("SIGTERM");
  assert.equal(await a2.exit, 0);
  assert.equal(await c.exit, 0);
  return { files, afterStop, atKill };
}

/** The distributed results equal the reference: no conflict, none missing, none extra, the same content. */
function assertSameResults(reference: ReturnType<typeof results>, distributed: ReturnType<typeof results>): void {
  assert.deepEqual(distributed.conflicts, []);
  const missing = [...reference.byId.keys()].filter((id) => !distributed.byId.has(id));
  const extra = [...distributed.byId.keys()].filter((id) => !reference.byId.has(id));
  assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] });
  for (const [id, content] of reference.byId) assert.equal(distributed.byId.get(id), content, id);
}

/** Runs a test with a temporary directory and the workers it starts, killed at the end whatever happens. */
async function withWorkers(body: (dir: string, workers: Worker[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bspump-state-"));
  const workers: Worker[] = [];
  try {
    await body(dir, workers);
  } finally {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

test("analyzer state follows its partitions: after a SIGTERM and a SIGKILL the windows and sessions are the single-process ones", { timeout: 200_000 }, () =>
  withWorkers(async (dir, workers) => {
    const { topic, reference } = await inputAndReference(dir, workers);
    const { files, afterStop, atKill } = await twoProcesses(topic, dir, workers, {});
    const distributed = results(fileLines(files), identity);
    console.log(
      `reference: ${kinds(reference.byId, "W|")} windows, ${kinds(reference.byId, "S|")} sessions; two processes (stop at ${afterStop}, kill at ${atKill} events committed): ` +
        `${distributed.lines} results, ${distributed.byId.size} distinct, ${distributed.duplicates} duplicates (identical), ${distributed.conflicts.length} conflicts`,
    );
    assertSameResults(reference, distributed);
  }),
);

test("exactly_once with state_topic: after a SIGTERM and a SIGKILL each window and session is in the output topic once", { timeout: 200_000 }, () =>
  withWorkers(async (dir, workers) => {
    const { topic, reference } = await inputAndReference(dir, workers);
    const out = unique("state-eos-out");
    await createTopic(out, PARTITIONS);
    const { files, afterStop, atKill } = await twoProcesses(topic, dir, workers, { STATE_EOS_TOPIC: out, STATE_FAIL_EVERY: "5000" });
    // What the processes emitted, aborted transactions included, and what was committed, as Kafka's
    // own read_committed consumer reads it (kafkajs' counted records of broker-aborted transactions).
    const emitted = results(fileLines(files), identity);
    const delivered = results(await consoleConsumeCommitted(out), identity);
    const missing = [...reference.byId.keys()].filter((id) => !delivered.byId.has(id)).length;
    console.log(
      `exactly_once: reference ${reference.byId.size} results; two processes (stop at ${afterStop}, kill at ${atKill} events committed) emitted ${emitted.lines} ` +
        `(${emitted.duplicates} again after aborts or the kill); committed in the output topic: ${delivered.lines}, ${delivered.byId.size} distinct, ${missing} lost, ${delivered.duplicates} duplicates, ${delivered.conflicts.length} conflicts`,
    );
    assertSameResults(reference, delivered);
    assert.equal(delivered.duplicates, 0);
    assert.equal(delivered.lines, reference.byId.size);
  }),
);
