import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdir, open, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Pipeline, ReceiptTally, Sink, type EventContext } from "../../src/core/index.js";
import { FileBlockSource, FileCSVSource, FileJSONSource, FileLineSource, FileMultiLineSource } from "../../src/file/index.js";
import { CollectSink, cycleOnce, makeApp, makePipeline, runOnce, startTriggered, until, withTempDir } from "./helpers.js";

test("bytes mode, gzip and bzip2 are read transparently", async () => {
  await withTempDir(async (dir) => {
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join("\n") + "\n";
    await writeFile(join(dir, "a.log.gz"), gzipSync(text));
    await writeFile(join(dir, "b.log"), text);
    execFileSync("bzip2", ["-k", join(dir, "b.log")]);
    await writeFile(join(dir, "b.log"), ""); // keep the name, empty
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "*.log*"), mode: "rb", files_per_cycle: 0, post: "delete", read_size: 4096 } });
    await runOnce(app, pipeline, source, [sink]);
    assert.equal(sink.events.length, 10000);
    assert.ok(Buffer.isBuffer(sink.events[0]));
    assert.equal((sink.events[0] as Buffer).toString(), "line 0");
    assert.equal((sink.events[9999] as Buffer).toString(), "line 4999");
    // sorted order: a.log.gz, b.log (empty), b.log.bz2
    assert.equal(sink.contexts[0]!.filename, join(dir, "a.log.gz"));
    assert.equal(sink.contexts[5000]!.filename, join(dir, "b.log.bz2"));
    assert.equal(sink.contexts[5000]!.line, 1);
    assert.deepEqual(await readdir(dir), []);
  });
});

test("glob order is stable and sorted, ** is recursive, include/exclude apply", async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, "sub", "deep"), { recursive: true });
    for (const name of ["c.txt", "a.txt", "b.txt", "sub/x.txt", "sub/deep/y.txt", "skip.txt", "z.dat"]) await writeFile(join(dir, name), name + "\n");
    await writeFile(join(dir, "old.txt-processed"), "no\n");
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "**", "*.txt"), exclude: "*skip*", files_per_cycle: 0, post: "noop" } });
    await runOnce(app, pipeline, source, [sink]);
    assert.deepEqual(sink.events, ["a.txt", "b.txt", "c.txt", "sub/deep/y.txt", "sub/x.txt"]);
  });
});

test("post modes: move (in place and to a folder), delete, and noop that does not re-read", async () => {
  await withTempDir(async (dir) => {
    const dest = join(dir, "done");
    for (const [sub, post, extra] of [
      ["m1", "move", {}],
      ["m2", "move", { move_destination: dest }],
      ["d", "delete", {}],
      ["n", "noop", {}],
    ] as const) {
      await mkdir(join(dir, sub));
      await writeFile(join(dir, sub, "f1.txt"), "x\ny\n");
      await writeFile(join(dir, sub, "f2.txt"), "z\n");
      const { app, pipeline } = makePipeline();
      const sink = new CollectSink(app, pipeline);
      const source = new FileLineSource(app, pipeline, { config: { path: join(dir, sub, "*.txt"), post, ...extra } });
      const running = startTriggered(app, pipeline, source, [sink]);
      for (let i = 0; i < 4; i++) {
        await cycleOnce(pipeline, source);
        await source.whenPostProcessed();
      }
      await running.stop();
      assert.deepEqual(sink.events, ["x", "y", "z"], `post=${post}`);
      const left = (await readdir(join(dir, sub))).sort();
      if (post === "move" && sub === "m1") assert.deepEqual(left, ["f1.txt-processed", "f2.txt-processed"]);
      if (sub === "m2") {
        assert.deepEqual(left, []);
        assert.deepEqual((await readdir(dest)).sort(), ["f1.txt-processed", "f2.txt-processed"]);
      }
      if (post === "delete") assert.deepEqual(left, []);
      if (post === "noop") assert.deepEqual(left, ["f1.txt", "f2.txt"]);
    }
  });
});

/** Buffers events and settles (or fails) their receipts when told. */
class HoldingSink extends Sink {
  override readonly settlesReceipts = true;
  readonly tally = new ReceiptTally();
  events: unknown[] = [];
  process(context: EventContext, event: unknown): null {
    this.events.push(event);
    this.tally.add(context.receipt);
    return null;
  }
}

test("post-processing waits for settlement; a failed delivery gives the file back and it is read again", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "a.txt"), "1\n2\n3\n");
    const { app, pipeline } = makePipeline();
    const sink = new HoldingSink(app, pipeline);
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "*.txt") } });
    const running = startTriggered(app, pipeline, source, [sink]);
    await cycleOnce(pipeline, source);
    assert.equal(sink.events.length, 3);
    assert.deepEqual(await readdir(dir), ["a.txt-locked"]);
    sink.tally.failAll(new Error("disk full"));
    await until(async () => (await readdir(dir))[0] === "a.txt", 20_000);
    await cycleOnce(pipeline, source);
    assert.equal(sink.events.length, 6);
    sink.tally.settleAll();
    await until(async () => (await readdir(dir))[0] === "a.txt-processed", 20_000);
    assert.equal(source.filesRetried, 1);
    assert.equal(source.filesDone, 1);
    await running.stop();
  });
});

test("a file open for writing by someone else is not read until it is closed", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "w.txt");
    const writer = await open(path, "w");
    await writer.write("partial\n");
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "*.txt") } });
    const running = startTriggered(app, pipeline, source, [sink]);
    await cycleOnce(pipeline, source);
    assert.equal(sink.events.length, 0);
    await writer.write("rest\n");
    await writer.close();
    await cycleOnce(pipeline, source);
    await running.stop();
    assert.deepEqual(sink.events, ["partial", "rest"]);
  });
});

test("a corrupt gzip file becomes -failed and the next file is still read", async () => {
  await withTempDir(async (dir) => {
    const good = gzipSync("ok\n");
    await writeFile(join(dir, "a.gz"), Buffer.concat([good.subarray(0, 10), Buffer.from("garbage garbage")]));
    await writeFile(join(dir, "b.gz"), good);
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "*.gz"), files_per_cycle: 0 } });
    await runOnce(app, pipeline, source, [sink]);
    assert.deepEqual(sink.events, ["ok"]);
    assert.deepEqual((await readdir(dir)).sort(), ["a.gz-failed", "b.gz-processed"]);
  });
});

test("FileCSVSource: header, quoting, embedded newlines, fieldnames, bad rows reported with line", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "a.csv"), 'id,name,note\n1,Ann,"hello, world"\n2,Bob,"multi\nline"\n3,"Cy ""the"" great",x\n');
    await writeFile(join(dir, "b.csv"), "1;x\n2;y\n");
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const source = new FileCSVSource(app, pipeline, { config: { path: join(dir, "a.csv"), files_per_cycle: 0 } });
    await runOnce(app, pipeline, source, [sink]);
    assert.deepEqual(sink.events, [
      { id: "1", name: "Ann", note: "hello, world" },
      { id: "2", name: "Bob", note: "multi\nline" },
      { id: "3", name: 'Cy "the" great', note: "x" },
    ]);
    assert.deepEqual(sink.contexts.map((c) => c.line), [2, 4, 5]);

    const { app: app2, pipeline: p2 } = makePipeline();
    const sink2 = new CollectSink(app2, p2);
    const s2 = new FileCSVSource(app2, p2, { config: { fieldnames: ["n", "v"], path: join(dir, "b.csv"), delimiter: ";" } });
    await runOnce(app2, p2, s2, [sink2]);
    assert.deepEqual(sink2.events, [{ n: "1", v: "x" }, { n: "2", v: "y" }]);
  });
});

test("FileCSVSource strict: a malformed row is a warning with the line, sent to the dead letter, others go on", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "a.csv"), "a,b\n1,2\n3,4,5\n6,7\n");
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const dead = new CollectSink(app, pipeline, { id: "dead" });
    pipeline.deadLetter = dead;
    const source = new FileCSVSource(app, pipeline, { config: { path: join(dir, "a.csv"), strict: true } });
    await runOnce(app, pipeline, source, [sink]);
    assert.deepEqual(sink.events, [{ a: "1", b: "2" }, { a: "6", b: "7" }]);
    assert.equal(pipeline.warnings, 1);
    assert.equal(dead.events.length, 1);
    assert.equal(dead.contexts[0]!.line, 3);
    assert.match(JSON.stringify(dead.events[0]), /a\.csv:3/);
    assert.deepEqual(await readdir(dir), ["a.csv-processed"]);
  });
});

test("FileJSONSource document and lines; FileBlockSource; FileMultiLineSource", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "doc.json"), '{"a": [1, 2]}');
    await writeFile(join(dir, "bad.json"), '{"a": ');
    await writeFile(join(dir, "l.jsonl"), '{"n":1}\nnot json\n\n{"n":2}\n');
    await writeFile(join(dir, "blk.bin"), '{"n":1}\nnot json\n\n{"n":2}\n');
    await writeFile(join(dir, "m.log"), "INFO a\n  more\nINFO b\nINFO c\n  x\n  y\n");
    const results: unknown[][] = [];
    for (const make of [
      (app: ReturnType<typeof makeApp>, p: Pipeline) => new FileJSONSource(app, p, { config: { path: join(dir, "*.json"), files_per_cycle: 0 } }),
      (app: ReturnType<typeof makeApp>, p: Pipeline) => new FileJSONSource(app, p, { config: { path: join(dir, "*.jsonl"), format: "lines" } }),
      (app: ReturnType<typeof makeApp>, p: Pipeline) => new FileBlockSource(app, p, { config: { path: join(dir, "*.bin") } }),
      (app: ReturnType<typeof makeApp>, p: Pipeline) => new FileMultiLineSource(app, p, "INFO", { config: { path: join(dir, "*.log") } }),
    ]) {
      const { app, pipeline } = makePipeline();
      const sink = new CollectSink(app, pipeline);
      await runOnce(app, pipeline, make(app, pipeline), [sink]);
      results.push(sink.events);
      if (results.length === 1) assert.equal(pipeline.warnings, 1);
      if (results.length === 2) {
        assert.equal(pipeline.warnings, 1);
        assert.deepEqual(sink.contexts.map((c) => c.line), [1, 4]);
      }
      if (results.length === 4) assert.deepEqual(sink.contexts.map((c) => [typeof c.filename, c.line]), [["string", 1], ["string", 3], ["string", 4]]);
    }
    assert.deepEqual(results[0], [{ a: [1, 2] }]);
    assert.deepEqual(results[1], [{ n: 1 }, { n: 2 }]);
    assert.ok(Buffer.isBuffer(results[2]![0]));
    assert.equal((results[2]![0] as Buffer).toString(), '{"n":1}\nnot json\n\n{"n":2}\n');
    assert.deepEqual(results[3], ["INFO a\n  more", "INFO b", "INFO c\n  x\n  y"]);
    assert.ok((await readdir(dir)).includes("bad.json-failed"));
  });
});

test("one scan serves every file it found; a file that arrives meanwhile is read after them, in the same cycle", async () => {
  await withTempDir(async (dir) => {
    for (let i = 0; i < 30; i++) await writeFile(join(dir, `f${String(i).padStart(2, "0")}.txt`), `line ${i}\n`);
    class CountingScans extends FileLineSource {
      scans = 0;
      protected override scan(): ReturnType<FileLineSource["scan"]> {
        this.scans++;
        return super.scan();
      }
    }
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    let arrived = false;
    // The first event drops in a file that sorts before all the others.
    const late = new (class extends Sink {
      process(context: EventContext, event: unknown): null {
        if (!arrived) {
          arrived = true;
          writeFileSync(join(dir, "a-late.txt"), "late\n");
        }
        return sink.process(context, event);
      }
    })(app, pipeline, { id: "Late" });
    const source = new CountingScans(app, pipeline, { config: { path: join(dir, "*.txt"), files_per_cycle: 0, post: "delete" } });
    await runOnce(app, pipeline, source, [late]);
    assert.equal(sink.events.length, 31);
    assert.deepEqual(sink.events.slice(0, 30), Array.from({ length: 30 }, (_, i) => `line ${i}`));
    assert.equal(sink.events[30], "late");
    // 30 files found by the first scan, the late one by the second, nothing by the third.
    assert.equal(source.scans, 3);
    assert.deepEqual(await readdir(dir), []);
  });
});
