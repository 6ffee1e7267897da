import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, open, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileLineSource } from "../../src/file/index.js";
import { CollectSink, cycleOnce, makePipeline, startTriggered, withTempDir } from "./helpers.js";

/**
 * A regular file (as stat() sees it) that open() refuses. As a normal user: a file of mode 000.
 * As root, mode 000 is still readable (CAP_DAC_OVERRIDE), so the file is a symlink to
 * /proc/sys/vm/drop_caches: a regular file of mode 0200 whose permission check procfs does itself,
 * so it refuses reading to root too. Null when neither works here.
 */
async function makeUnreadable(path: string): Promise<string | null> {
  if (process.getuid?.() !== 0) {
    await writeFile(path, "secret\n");
    await chmod(path, 0o000);
    if (await opens(path)) return null;
    return "mode 000";
  }
  await symlink("/proc/sys/vm/drop_caches", path);
  if (await opens(path)) return null;
  return "symlink to /proc/sys/vm/drop_caches (running as root)";
}

async function opens(path: string): Promise<boolean> {
  try {
    await (await open(path, "r")).close();
    return true;
  } catch {
    return false;
  }
}

/** A FileLineSource that counts its scans and the "Cannot open" warnings it logs. */
function countingSource(app: ConstructorParameters<typeof FileLineSource>[0], pipeline: ConstructorParameters<typeof FileLineSource>[1], config: Record<string, string | number>) {
  class Counting extends FileLineSource {
    scans = 0;
    protected override scan(): ReturnType<FileLineSource["scan"]> {
      this.scans++;
      return super.scan();
    }
  }
  const source = new Counting(app, pipeline, { config });
  const warnings: string[] = [];
  source.log.addHook((record) => {
    if (record.level === "warn" && record.msg.startsWith("Cannot open")) warnings.push(record.msg);
  });
  return { source, warnings };
}

for (const filesPerCycle of [1, 0]) {
  test(`files_per_cycle=${filesPerCycle}: an unreadable file is skipped with one warning, the others are read, no busy loop`, async (t) => {
    await withTempDir(async (dir) => {
      // "a.txt" sorts first: before the fix it was retried every cycle and b, c were never read.
      const how = await makeUnreadable(join(dir, "a.txt"));
      if (how === null) {
        t.skip("no way to make a file unreadable here");
        return;
      }
      t.diagnostic(`unreadable file: ${how}`);
      await writeFile(join(dir, "b.txt"), "b1\nb2\n");
      await writeFile(join(dir, "c.txt"), "c1\n");
      const { app, pipeline } = makePipeline();
      const sink = new CollectSink(app, pipeline);
      const { source, warnings } = countingSource(app, pipeline, { path: join(dir, "*.txt"), files_per_cycle: filesPerCycle, post: "delete" });
      const running = startTriggered(app, pipeline, source, [sink]);
      const cycles = 20;
      const t0 = performance.now();
      try {
        for (let i = 0; i < cycles; i++) await cycleOnce(pipeline, source);
      } finally {
        await running.stop();
      }
      const elapsed = performance.now() - t0;
      assert.deepEqual(sink.events, ["b1", "b2", "c1"]);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0]!, /a\.txt/);
      // Bounded work: at most two scans per cycle (the read one, then the empty one), well under a second.
      assert.ok(source.scans <= 2 * cycles, `${source.scans} scans in ${cycles} cycles`);
      assert.ok(elapsed < 5000, `${cycles} cycles took ${elapsed} ms`);
      assert.deepEqual((await readdir(dir)).sort(), ["a.txt"]);
      assert.equal(source.filesFailed, 0);
    });
  });
}

test("an unreadable file that becomes readable is read in the next cycle", async (t) => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a.txt");
    const how = await makeUnreadable(path);
    if (how === null) {
      t.skip("no way to make a file unreadable here");
      return;
    }
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const { source, warnings } = countingSource(app, pipeline, { path: join(dir, "*.txt"), post: "delete" });
    const running = startTriggered(app, pipeline, source, [sink]);
    try {
      await cycleOnce(pipeline, source);
      await cycleOnce(pipeline, source);
      assert.equal(warnings.length, 1);
      // Made readable: chmod changes only the ctime (part of what is remembered); the symlink is replaced.
      if (process.getuid?.() !== 0) await chmod(path, 0o644);
      else {
        await rm(path);
        await writeFile(path, "now readable\n");
      }
      await cycleOnce(pipeline, source);
    } finally {
      await running.stop();
    }
    assert.deepEqual(sink.events, process.getuid?.() !== 0 ? ["secret"] : ["now readable"]);
    assert.equal(warnings.length, 1);
  });
});
