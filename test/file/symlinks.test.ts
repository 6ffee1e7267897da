import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileLineSource } from "../../src/file/index.js";
import { CollectSink, makePipeline, runOnce, withTempDir } from "./helpers.js";

/** A watched folder with a file of its own, and links to a file and a folder outside it. */
function layout(dir: string): string {
  const watched = join(dir, "in");
  mkdirSync(watched);
  mkdirSync(join(dir, "outside"));
  writeFileSync(join(watched, "a.log"), "own\n");
  writeFileSync(join(dir, "outside", "secret.log"), "outside\n");
  symlinkSync(join(dir, "outside", "secret.log"), join(watched, "link.log"));
  symlinkSync(join(dir, "outside"), join(watched, "sub"));
  return watched;
}

test("symlinks in a watched folder: followed by default (as BSPump), skipped with follow_symlinks = false — the link and its target untouched", async () => {
  await withTempDir(async (dir) => {
    const watched = layout(dir);
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    await runOnce(app, pipeline, new FileLineSource(app, pipeline, { config: { path: join(watched, "*.log"), files_per_cycle: 0 } }), [sink]);
    assert.deepEqual(sink.events.sort(), ["outside", "own"], "a link to a file outside the folder is read");
    // The link was renamed, not its target.
    assert.deepEqual(readdirSync(watched).sort(), ["a.log-processed", "link.log-processed", "sub"]);
    assert.deepEqual(readdirSync(join(dir, "outside")), ["secret.log"]);
  });
  await withTempDir(async (dir) => {
    const watched = layout(dir);
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    // Wildcards never descend into a linked folder (`in/*/` does not match `sub`), either way.
    const path = `${join(watched, "*.log")}:${join(watched, "*", "*.log")}`;
    await runOnce(app, pipeline, new FileLineSource(app, pipeline, { config: { path, files_per_cycle: 0, follow_symlinks: false } }), [sink]);
    assert.deepEqual(sink.events, ["own"]);
    assert.deepEqual(readdirSync(watched).sort(), ["a.log-processed", "link.log", "sub"]);
    assert.deepEqual(readdirSync(join(dir, "outside")), ["secret.log"]);
    assert.equal(readFileSync(join(watched, "link.log"), "utf8"), "outside\n");
  });
});
