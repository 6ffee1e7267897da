// Own file: the RSS assertions compare against this process's peak, which other tests would raise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createGzip } from "node:zlib";
import { FileCSVSource, FileLineSource } from "../../src/file/index.js";
import { CollectSink, makePipeline, runOnce, withTempDir } from "./helpers.js";
import { peakGrowthMB } from "../helpers/memory.js";

/** 2 GiB of zeros without a line end, then "\nafter\n", gzipped without ever holding the zeros. */
async function gzipBomb(): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on("data", (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve, reject) => {
    gzip.on("end", resolve);
    gzip.on("error", reject);
  });
  const zeros = Buffer.alloc(1048576, "0");
  for (let i = 0; i < 2048; i++) if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once("drain", resolve));
  gzip.end("\nafter\n");
  await done;
  return Buffer.concat(parts);
}

test("a .gz of 2 GiB of '0' without a line end: one bad-input warning (max_line_length), the line after it is read, bounded memory — FileLineSource and FileCSVSource", async () => {
  await withTempDir(async (dir) => {
    const bomb = await gzipBomb();
    assert.ok(bomb.length < 4 * 1048576, `${bomb.length} bytes`);
    await writeFile(join(dir, "bomb.txt.gz"), bomb);
    await copyFile(join(dir, "bomb.txt.gz"), join(dir, "bomb.csv.gz"));

    const lines = makePipeline();
    const lineSink = new CollectSink(lines.app, lines.pipeline);
    const lineSource = new FileLineSource(lines.app, lines.pipeline, { config: { path: join(dir, "*.txt.gz") } });
    const lineGrowth = await peakGrowthMB(() => runOnce(lines.app, lines.pipeline, lineSource, [lineSink], { timeoutSeconds: 120 }));
    assert.ok(lineGrowth < 200, `FileLineSource: RSS grew by ${lineGrowth.toFixed(0)} MB`);
    assert.deepEqual(lineSink.events, ["after"]);
    assert.equal(lines.pipeline.warnings, 1);

    const csv = makePipeline();
    const csvSink = new CollectSink(csv.app, csv.pipeline);
    const csvSource = new FileCSVSource(csv.app, csv.pipeline, { config: { path: join(dir, "*.csv.gz"), fieldnames: "a" } });
    const csvGrowth = await peakGrowthMB(() => runOnce(csv.app, csv.pipeline, csvSource, [csvSink], { timeoutSeconds: 120 }));
    assert.ok(csvGrowth < 200, `FileCSVSource: RSS grew by ${csvGrowth.toFixed(0)} MB`);
    assert.deepEqual(csvSink.events.map((e) => ({ ...(e as object) })), [{ a: "after" }]);
    assert.equal(csv.pipeline.warnings, 1);

    assert.deepEqual((await readdir(dir)).sort(), ["bomb.csv.gz-processed", "bomb.txt.gz-processed"]);
  });
});
