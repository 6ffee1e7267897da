import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, statSync, unlinkSync, utimesSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Sink, type EventContext } from "../../src/core/index.js";
import { FileLineSource, type FileEntry } from "../../src/file/index.js";
import { CollectSink, cycleOnce, makePipeline, startTriggered, withTempDir } from "./helpers.js";

// sync_io: small files on a local filesystem are locked, opened, read and post-processed with
// synchronous calls. The same results either way; these tests run both ways.

/** A FileLineSource that records, per file read, whether it was opened synchronously (no handle). */
class Recording extends FileLineSource {
  readonly opened: { path: string; sync: boolean }[] = [];
  protected override read(file: FileEntry): void | Promise<void> {
    this.opened.push({ path: file.path, sync: file.handle === null });
    return super.read(file);
  }
}

const lines = (file: number, count: number) => Array.from({ length: count }, (_, i) => `f${file}-l${i}`);

for (const syncIO of [true, false]) {
  test(`sync_io=${syncIO}: 60 files (one bigger than read_size) read in order, each post-processed once (move, delete, noop)`, async () => {
    await withTempDir(async (dir) => {
      for (const post of ["move", "delete", "noop"] as const) {
        const sub = join(dir, post);
        await mkdir(sub);
        const expected: string[] = [];
        for (let f = 0; f < 60; f++) {
          // File 7: ~11 KB, more than read_size (4096): always read asynchronously, in chunks.
          const body = lines(f, f === 7 ? 1000 : 1 + (f % 5));
          expected.push(...body);
          await writeFile(join(sub, `f${String(f).padStart(3, "0")}.txt`), body.join("\n") + "\n");
        }
        const { app, pipeline } = makePipeline();
        const sink = new CollectSink(app, pipeline);
        const source = new Recording(app, pipeline, { config: { path: join(sub, "*.txt"), post, files_per_cycle: 0, read_size: 4096, sync_io: syncIO } });
        const processed: string[] = [];
        pipeline.pubsub.subscribe("bspump.file_source.processed!", (_name, info) => processed.push((info as { filename: string }).filename));
        const running = startTriggered(app, pipeline, source, [sink]);
        // Twice: with post=noop, the second cycle must not read the files again.
        for (let i = 0; i < 2; i++) {
          await cycleOnce(pipeline, source);
          await source.whenPostProcessed();
        }
        await running.stop();
        assert.deepEqual(sink.events, expected, `post=${post}`);
        const names = Array.from({ length: 60 }, (_, f) => join(sub, `f${String(f).padStart(3, "0")}.txt`));
        assert.deepEqual(processed, names, `post=${post}: one processed! per file, in order`);
        assert.equal(source.filesDone, 60);
        assert.equal(source.filesInFlight, 0);
        assert.deepEqual(
          source.opened.map((o) => o.sync),
          names.map((_, f) => syncIO && f !== 7),
          `post=${post}: opened synchronously exactly when sync_io and the file is smaller than read_size`,
        );
        const left = (await readdir(sub)).sort();
        if (post === "move") assert.deepEqual(left, names.map((n) => n.slice(sub.length + 1) + "-processed"));
        if (post === "delete") assert.deepEqual(left, []);
        if (post === "noop") assert.deepEqual(left, names.map((n) => n.slice(sub.length + 1)));
      }
    });
  });

  test(`sync_io=${syncIO}: a file gone between scan and lock is skipped, one replaced by a folder becomes -failed, the others are read`, async () => {
    await withTempDir(async (dir) => {
      for (const name of ["a", "b", "c", "d"]) await writeFile(join(dir, `${name}.txt`), `${name}1\n${name}2\n`);
      const { app, pipeline } = makePipeline();
      pipeline.handleError = () => true;
      const sink = new CollectSink(app, pipeline);
      class Racing extends FileLineSource {
        protected override async scan(): ReturnType<FileLineSource["scan"]> {
          const found = await super.scan();
          // What another process may do after the scan: take b, and put a folder where c was.
          if (found.paths.length === 4) {
            unlinkSync(join(dir, "b.txt"));
            unlinkSync(join(dir, "c.txt"));
            mkdirSync(join(dir, "c.txt"));
          }
          return found;
        }
      }
      const source = new Racing(app, pipeline, { config: { path: join(dir, "*.txt"), files_per_cycle: 0, sync_io: syncIO } });
      const warnings: string[] = [];
      const errors: string[] = [];
      source.log.addHook((record) => {
        if (record.level === "warn") warnings.push(record.msg);
        if (record.level === "error") errors.push(record.msg);
      });
      const running = startTriggered(app, pipeline, source, [sink]);
      await cycleOnce(pipeline, source);
      await source.whenPostProcessed();
      await running.stop();
      assert.deepEqual(sink.events, ["a1", "a2", "d1", "d2"]);
      assert.deepEqual((await readdir(dir)).sort(), ["a.txt-processed", "c.txt-failed", "d.txt-processed"]);
      assert.equal(source.filesDone, 2);
      assert.equal(source.filesFailed, 1);
      // Taken by another process: normal when several share a folder, counted, not a warning.
      assert.deepEqual(warnings, []);
      assert.equal(source.filesTaken, 1);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^Failed to read '.*c\.txt': .*EISDIR/);
    });
  });
}

test("sync_io: a small file that grew after the scan is read whole (the rest asynchronously)", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "grow.txt");
    await writeFile(path, "first\n");
    const more = lines(1, 3000);
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    class Growing extends Recording {
      protected override async scan(): ReturnType<FileLineSource["scan"]> {
        const found = await super.scan();
        // Written after the scan saw 6 bytes: ~25 KB, six times read_size.
        if (found.paths.length === 1) appendFileSync(path, more.join("\n") + "\n");
        return found;
      }
    }
    const source = new Growing(app, pipeline, { config: { path: join(dir, "*.txt"), read_size: 4096 } });
    const running = startTriggered(app, pipeline, source, [sink]);
    await cycleOnce(pipeline, source);
    await source.whenPostProcessed();
    await running.stop();
    assert.deepEqual(source.opened, [{ path, sync: true }]);
    assert.deepEqual(sink.events, ["first", ...more]);
    assert.deepEqual(await readdir(dir), ["grow.txt-processed"]);
  });
});

test("reading a file does not change its access time (O_NOATIME), either way", async () => {
  await withTempDir(async (dir) => {
    const atime = new Date("2020-01-01T00:00:00Z");
    for (const name of ["a.txt", "b.txt"]) {
      await writeFile(join(dir, name), "x\n".repeat(name === "a.txt" ? 3 : 3000));
      // Older than the file's modification: a read with relatime would update it.
      utimesSync(join(dir, name), atime, new Date());
    }
    for (const syncIO of [true, false]) {
      const { app, pipeline } = makePipeline();
      const sink = new CollectSink(app, pipeline);
      // read_size 4096: b.txt (6,000 bytes) is read asynchronously even with sync_io.
      const source = new Recording(app, pipeline, { config: { path: join(dir, "*.txt"), post: "noop", files_per_cycle: 0, read_size: 4096, sync_io: syncIO } });
      const running = startTriggered(app, pipeline, source, [sink]);
      await cycleOnce(pipeline, source);
      await source.whenPostProcessed();
      await running.stop();
      assert.equal(sink.events.length, 3003);
      assert.deepEqual(source.opened.map((o) => o.sync), [syncIO, false]);
      for (const name of ["a.txt", "b.txt"]) assert.equal(statSync(join(dir, name)).atimeMs, atime.getTime(), `${name}, sync_io=${syncIO}`);
    }
  });
});

test("sync_io: while a folder of small files is read with synchronous calls, timers still run", async () => {
  await withTempDir(async (dir) => {
    const body = lines(0, 20).join("\n") + "\n";
    await Promise.all(Array.from({ length: 1500 }, (_, f) => writeFile(join(dir, `f${String(f).padStart(5, "0")}.txt`), body)));
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const source = new Recording(app, pipeline, { config: { path: join(dir, "*.txt"), post: "noop", files_per_cycle: 0 } });
    const running = startTriggered(app, pipeline, source, [sink]);
    let ticks = 0;
    let t0 = 0;
    pipeline.pubsub.subscribe("bspump.pipeline.cycle_begin!", () => {
      t0 = performance.now();
      ticks = 0;
    });
    const timer = setInterval(() => ticks++, 1);
    try {
      await cycleOnce(pipeline, source);
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - t0;
    await running.stop();
    assert.equal(sink.events.length, 1500 * 20);
    assert.ok(source.opened.every((o) => o.sync), "every file read synchronously");
    // A turn at least every 10 ms of synchronous work (the cycle takes ≥ 50 ms: 1,500 files, 3,000 renames).
    assert.ok(ms >= 30, `the cycle took ${ms.toFixed(0)} ms`);
    assert.ok(ticks >= Math.floor(ms / 40), `${ticks} timer ticks in ${ms.toFixed(0)} ms`);
  });
});

test("sync_io: a pipeline throttled in the middle of a small file stops reading until released; every line once, in order", async () => {
  await withTempDir(async (dir) => {
    const expected: string[] = [];
    for (let f = 0; f < 20; f++) {
      // 600 lines (~6 KB): read whole with synchronous calls and framed without a Promise while
      // the pipeline is ready; the throttle falls inside a file (readiness checked every 256 lines).
      const body = lines(f, 600);
      expected.push(...body);
      await writeFile(join(dir, `f${String(f).padStart(3, "0")}.txt`), body.join("\n") + "\n");
    }
    const { app, pipeline } = makePipeline();
    let whileThrottled = -1;
    class Throttling extends Sink {
      readonly events: string[] = [];
      process(_context: EventContext, event: unknown): null {
        this.events.push(event as string);
        if (this.events.length === 1000 || this.events.length === 7000) {
          const at = this.events.length;
          pipeline.throttle(this, true);
          setTimeout(() => {
            // Lines after the throttle: at most those of the current readiness interval.
            whileThrottled = Math.max(whileThrottled, this.events.length - at);
            pipeline.throttle(this, false);
          }, 50);
        }
        return null;
      }
    }
    const sink = new Throttling(app, pipeline);
    const source = new Recording(app, pipeline, { config: { path: join(dir, "*.txt"), post: "noop", files_per_cycle: 0 } });
    const running = startTriggered(app, pipeline, source, [sink]);
    await cycleOnce(pipeline, source);
    await source.whenPostProcessed();
    await running.stop();
    assert.ok(source.opened.every((o) => o.sync), "every file read synchronously");
    assert.ok(whileThrottled >= 0 && whileThrottled < 256, `${whileThrottled} lines handed over while throttled`);
    assert.deepEqual(sink.events, expected);
    assert.equal(source.filesDone, 20);
  });
});

for (const syncIO of [true, false]) {
  test(`post=noop, sync_io=${syncIO}: a file arriving during a cycle is read in it; a file changed after it was read is read again from the next cycle`, async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "a.txt"), "a1\n");
      await writeFile(join(dir, "b.txt"), "b1\n");
      const { app, pipeline } = makePipeline();
      const sink = new CollectSink(app, pipeline);
      const source = new Recording(app, pipeline, { config: { path: join(dir, "*.txt"), post: "noop", files_per_cycle: 0, sync_io: syncIO } });
      let changed = false;
      pipeline.pubsub.subscribe("bspump.file_source.processed!", (_name, info) => {
        if (changed || (info as { filename: string }).filename !== join(dir, "a.txt")) return;
        changed = true;
        appendFileSync(join(dir, "a.txt"), "a2\n");
        appendFileSync(join(dir, "c.txt"), "c1\n");
      });
      const running = startTriggered(app, pipeline, source, [sink]);
      await cycleOnce(pipeline, source);
      await source.whenPostProcessed();
      assert.deepEqual(sink.events, ["a1", "b1", "c1"], "first cycle: c.txt found by the scan for files arrived meanwhile; a.txt not read twice in it");
      await cycleOnce(pipeline, source);
      await source.whenPostProcessed();
      assert.deepEqual(sink.events.slice(3), ["a1", "a2"], "second cycle: the changed a.txt again, whole; b.txt and c.txt unchanged, not read");
      await cycleOnce(pipeline, source);
      await source.whenPostProcessed();
      await running.stop();
      assert.equal(sink.events.length, 5, "third cycle: nothing changed, nothing read");
    });
  });
}
