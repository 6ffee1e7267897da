import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { FileLineSource } from "../../src/file/index.js";
import { CollectSink, makePipeline, runOnce, withTempDir } from "./helpers.js";

test("FileLineSource reads lines with file name and line number, then moves the file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a.txt");
    await writeFile(path, "one\ntwo\r\n\nfour žluťoučký\nlast-no-newline");
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "*.txt"), read_size: 4096 } });
    await runOnce(app, pipeline, source, [sink]);
    assert.deepEqual(sink.events, ["one", "two", "", "four žluťoučký", "last-no-newline"]);
    assert.deepEqual(sink.contexts.map((c) => [c.filename, c.line]), [1, 2, 3, 4, 5].map((n) => [path, n]));
    assert.deepEqual(await readdir(dir), ["a.txt-processed"]);
  });
});
