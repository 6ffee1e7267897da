import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Sink, type LogRecord } from "../../src/core/index.js";
import { FileCSVSource, FileJSONSource, FileLineSource, type FileABCSource } from "../../src/file/index.js";
import { cycleOnce, makePipeline, startTriggered, until, withTempDir } from "./helpers.js";

/** Rows in the file: more than one readiness check of the line framer (256), less than a 1 MiB chunk. */
const ROWS = 20_000;
/** The sink fails from this row on, while `failing`. */
const FIRST_BAD = 1_000;

/** Fails every event from row FIRST_BAD on while `failing` (a hard error); records the ids it wrote. */
class FailingSink extends Sink {
  failing = true;
  failedCalls = 0;
  readonly written: number[] = [];
  process(_context: unknown, event: unknown): null {
    const id = idOf(event);
    if (this.failing && id >= FIRST_BAD) {
      this.failedCalls++;
      throw new Error("sink down");
    }
    this.written.push(id);
    return null;
  }
}

function idOf(event: unknown): number {
  if (typeof event === "string") return Number(event.split(",")[0]);
  return Number((event as { id: string | number }).id);
}

/** The log lines about the error state (the flood was two of them per failed event). */
function errorLines(logs: LogRecord[]): string[] {
  return logs.filter((r) => /processing error|already set|more events failed/.test(r.msg)).map((r) => r.msg);
}

/**
 * A pipeline whose sink throws on every event from row FIRST_BAD on: how many events reach the sink
 * after the first error, what is logged, and what is written once the error is cleared.
 */
async function flood(name: string, content: string, makeSource: (app: ReturnType<typeof makePipeline>["app"], pipeline: ReturnType<typeof makePipeline>["pipeline"], path: string) => FileABCSource) {
  return withTempDir(async (dir) => {
    await writeFile(join(dir, name), content);
    const { app, pipeline } = makePipeline();
    const logs: LogRecord[] = [];
    app.logs.writer = (r) => logs.push(r);
    const sink = new FailingSink(app, pipeline);
    const source = makeSource(app, pipeline, join(dir, name));
    const running = startTriggered(app, pipeline, source, [sink]);
    try {
      await within(cycleOnce(pipeline, source), 10, "the cycle in error ends");
      assert.equal(pipeline.isError(), true);
      // The file was given back unsettled, to be read again.
      await until(async () => (await readdir(dir)).includes(name), 20_000);
      const failedBefore = sink.failedCalls;
      const linesInError = errorLines(logs);
      const errors = pipeline.errors;
      const writtenBefore = sink.written.length;

      sink.failing = false;
      pipeline.setError(null, null, null);
      await cycleOnce(pipeline, source);
      await until(async () => (await readdir(dir)).includes(`${name}-processed`), 20_000);
      const cleared = logs.find((r) => r.msg.startsWith("Error cleared"))?.msg ?? "";
      return { failedBefore, linesInError, errors, writtenBefore, written: sink.written.slice(writtenBefore), cleared, retried: source.filesRetried };
    } finally {
      await running.stop();
    }
  });
}

/** `promise`, or a failure after `seconds` (before this fix a source waited for the clear: the cycle never ended). */
async function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${seconds} s`)), seconds * 1000)))]);
  } finally {
    clearTimeout(timer);
  }
}

function assertNothingLost(written: number[]): void {
  assert.equal(written.length, ROWS, "every row written exactly once after the clear");
  assert.deepEqual(written, Array.from({ length: ROWS }, (_, i) => i));
}

test("FileCSVSource: after a hard error no further row of the chunk is handed over; one log line; all rows once after the clear", async () => {
  let csv = "id,value\n";
  for (let i = 0; i < ROWS; i++) csv += `${i},v${i}\n`;
  const r = await flood("a.csv", csv, (app, pipeline, path) => new FileCSVSource(app, pipeline, { config: { path } }));
  // The parser pauses at the first row after the pipeline stopped being ready: only the failing row.
  assert.equal(r.failedBefore, 1);
  assert.equal(r.errors, 1);
  assert.equal(r.writtenBefore, FIRST_BAD);
  assert.equal(r.linesInError.length, 1);
  assert.match(r.linesInError[0]!, /Pipeline stopped due to a processing error: sink down/);
  assert.equal(r.cleared, "Error cleared");
  assert.equal(r.retried, 1);
  assertNothingLost(r.written);
});

test("FileLineSource: at most 256 events after a hard error, counted in one line; all lines once after the clear", async () => {
  let text = "";
  for (let i = 0; i < ROWS; i++) text += `${i},v${i}\n`;
  const r = await flood("a.txt", text, (app, pipeline, path) => new FileLineSource(app, pipeline, { config: { path } }));
  // The framer checks readiness every 256 lines; the first error is within the batch at FIRST_BAD.
  assert.ok(r.failedBefore >= 1 && r.failedBefore <= 256, `failed ${r.failedBefore}`);
  assert.equal(r.errors, r.failedBefore);
  assert.equal(r.linesInError.length, 1, r.linesInError.join("\n"));
  assert.equal(r.cleared, `Error cleared (${r.failedBefore - 1} more events failed while the pipeline was in error)`);
  assertNothingLost(r.written);
});

test("FileJSONSource (lines): at most 256 events after a hard error, one log line; all documents once after the clear", async () => {
  let text = "";
  for (let i = 0; i < ROWS; i++) text += `{"id":${i}}\n`;
  const r = await flood("a.json", text, (app, pipeline, path) => new FileJSONSource(app, pipeline, { config: { path, format: "lines" } }));
  assert.ok(r.failedBefore >= 1 && r.failedBefore <= 256, `failed ${r.failedBefore}`);
  assert.equal(r.errors, r.failedBefore);
  assert.equal(r.linesInError.length, 1, r.linesInError.join("\n"));
  assertNothingLost(r.written);
});

test("FileCSVSource: a throttle stops the rows within the chunk and the rest follow when it is released, each once", async () => {
  let csv = "id,value\n";
  for (let i = 0; i < ROWS; i++) csv += `${i},v${i}\n`;
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "a.csv"), csv);
    const { app, pipeline } = makePipeline();
    const written: number[] = [];
    let whileThrottled = 0;
    class ThrottlingSink extends Sink {
      process(_context: unknown, event: unknown): null {
        if (pipeline.getThrottles().size > 0) whileThrottled++;
        const id = idOf(event);
        written.push(id);
        if (id % 5000 === 10) {
          pipeline.throttle(this, true);
          setTimeout(() => pipeline.throttle(this, false), 20);
        }
        return null;
      }
    }
    const source = new FileCSVSource(app, pipeline, { config: { path: join(dir, "a.csv") } });
    const running = startTriggered(app, pipeline, source, [new ThrottlingSink(app, pipeline)]);
    try {
      await cycleOnce(pipeline, source);
      await until(async () => (await readdir(dir)).includes("a.csv-processed"), 20_000);
    } finally {
      await running.stop();
    }
    assert.equal(whileThrottled, 0);
    assertNothingLost(written);
  });
});
