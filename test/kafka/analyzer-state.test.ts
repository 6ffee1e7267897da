// @services kafka
/**
 * Analyzer state across rebalances (issue 15 item 4): a partitioned TimeWindowAnalyzer and
 * SessionAnalyzer keyed by the Kafka key, behind a KafkaSource with `state_topic`, over 100,000
 * events of 1,000 keys in 4 partitions. Two pump processes share the group; one is stopped
 * (SIGTERM), started again, and later the other is SIGKILLed mid-window. The windows and sessions emitted by
 * all processes, per key and window or session, must equal those of a single-process run of the same input; with
 * at-least-once a window may come twice, with identical content (counted and printed).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { BROKER, committed, createTopic, latest, produce, unique, until, type TestMessage } from "./helpers.js";

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

/** The results of the runs' files by identity (key and window), with their content; duplicates counted. */
function results(files: string[], identity: (r: Record<string, unknown>) => string): { byId: Map<string, string>; lines: number; duplicates: number; conflicts: string[] } {
  const byId = new Map<string, string>();
  let lines = 0;
  let duplicates = 0;
  const conflicts: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, "utf8").split("\n")) {
      if (line === "") continue;
      lines++;
      const r = JSON.parse(line) as Record<string, unknown>;
      const id = identity(r);
      const content = JSON.stringify(r);
      const before = byId.get(id);
      if (before === undefined) byId.set(id, content);
      else if (before === content) duplicates++;
      else conflicts.push(`${id}: ${before} vs ${content}`);
    }
  }
  return { byId, lines, duplicates, conflicts };
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

test("analyzer state follows its partitions: after a SIGTERM and a SIGKILL the windows and sessions are the single-process ones", { timeout: 200_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-state-"));
  const workers: Worker[] = [];
  const kill = () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
  };
  try {
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

    // Two processes; one stopped, started again; the other killed mid-window.
    const group = unique("state-group");
    const changelog = unique("state-changelog");
    const files = ["a1", "b", "a2", "c"].map((n) => join(dir, `${n}.jsonl`));
    const a1 = startWorker(topic, group, changelog, files[0]!);
    const b = startWorker(topic, group, changelog, files[1]!);
    workers.push(a1, b);
    await until(async () => (await committedTotal(group, topic)) >= 15_000, 60_000, "15,000 events committed");
    a1.child.kill("SIGTERM");
    assert.equal(await a1.exit, 0);
    const afterStop = await committedTotal(group, topic);
    await until(async () => (await committedTotal(group, topic)) >= afterStop + 10_000, 60_000, "10,000 more events committed by the other process");
    const a2 = startWorker(topic, group, changelog, files[2]!);
    workers.push(a2);
    await until(async () => existsSync(files[2]!), 60_000, "the restarted process to emit results (it got partitions with state)");
    b.child.kill("SIGKILL");
    await b.exit;
    const atKill = await committedTotal(group, topic);
    const c = startWorker(topic, group, changelog, files[3]!);
    workers.push(c);
    await allCommitted(topic, group, 90_000);
    a2.child.kill("SIGTERM");
    c.child.kill("SIGTERM");
    assert.equal(await a2.exit, 0);
    assert.equal(await c.exit, 0);

    const reference = results([refFile], identity);
    const distributed = results(files, identity);
    const kinds = (m: Map<string, string>, k: string) => [...m.keys()].filter((id) => id.startsWith(k)).length;
    console.log(
      `reference: ${kinds(reference.byId, "W|")} windows, ${kinds(reference.byId, "S|")} sessions; two processes (stop at ${afterStop}, kill at ${atKill} events committed): ` +
        `${distributed.lines} results, ${distributed.byId.size} distinct, ${distributed.duplicates} duplicates (identical), ${distributed.conflicts.length} conflicts`,
    );
    assert.equal(reference.duplicates, 0);
    // 1,000 s of event time: 19 closed 50 s windows per key (the last stays open); sessions of at
    // most 200 s: 4 closed per key (the fifth stays open).
    assert.equal(kinds(reference.byId, "W|"), 19 * KEYS);
    assert.equal(kinds(reference.byId, "S|"), 4 * KEYS);
    assert.deepEqual(distributed.conflicts, []);
    const missing = [...reference.byId.keys()].filter((id) => !distributed.byId.has(id));
    const extra = [...distributed.byId.keys()].filter((id) => !reference.byId.has(id));
    assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] });
    for (const [id, content] of reference.byId) assert.equal(distributed.byId.get(id), content, id);
  } finally {
    kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
