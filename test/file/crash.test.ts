import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileLineSource } from "../../src/file/index.js";
import { CountSink, makePipeline, runOnce, withTempDir } from "./helpers.js";

test("crash and restart: a file whose events were not settled is read again after a crash", async () => {
  await withTempDir(async (dir) => {
    const lines = 5000;
    await writeFile(join(dir, "a.txt"), Array.from({ length: lines }, (_, i) => `l${i}`).join("\n") + "\n");
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "crash-child.ts"), join(dir, "*.txt")], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LOG_LEVEL: "error" },
    });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("cycle end")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code}): ${out}`)));
    });
    assert.deepEqual(await readdir(dir), ["a.txt-locked"]);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));

    const { app, pipeline } = makePipeline();
    const sink = new CountSink(app, pipeline);
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "*.txt") } });
    await runOnce(app, pipeline, source, [sink]);
    assert.equal(sink.count, lines);
    assert.deepEqual(await readdir(dir), ["a.txt-processed"]);
  });
});

const BIG_MB = Number(process.env.BSPUMP_BIG_FILE_MB ?? 1024);

test(`a ${BIG_MB} MB file is read line by line with bounded memory (RSS growth < 200 MB)`, { timeout: 180_000 }, async (t) => {
  await withTempDir(async (dir) => {
    const path = join(dir, "big.txt");
    const line = "x".repeat(99) + "\n";
    const block = Buffer.from(line.repeat(10486)); // ~1 MiB
    const out = createWriteStream(path);
    for (let i = 0; i < BIG_MB; i++) if (!out.write(block)) await new Promise<void>((r) => out.once("drain", () => r()));
    await new Promise<void>((r) => out.end(() => r()));
    const expected = (await stat(path)).size / 100;
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const { app, pipeline } = makePipeline();
    const sink = new CountSink(app, pipeline);
    const source = new FileLineSource(app, pipeline, { config: { path, post: "delete" } });
    await runOnce(app, pipeline, source, [sink], { timeoutSeconds: 170 });
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    t.diagnostic(`lines ${sink.count}, RSS before ${(rss0 / 1048576).toFixed(0)} MB, peak ${(peak / 1048576).toFixed(0)} MB`);
    assert.equal(sink.count, expected);
    assert.ok(peak - rss0 < 200 * 1024 * 1024, `RSS grew by ${((peak - rss0) / 1048576).toFixed(0)} MB`);
    assert.ok(peak < 400 * 1024 * 1024, `peak RSS ${((peak) / 1048576).toFixed(0)} MB`);
  });
});
