import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { IteratorSource } from "../../src/common/index.js";
import { FileBlockSink, FileCSVSink, FileJSONSink, FileLineSink, FileLineSource } from "../../src/file/index.js";
import { cycleOnce, makePipeline, runOnce, startTriggered, withTempDir } from "./helpers.js";

test("FileLineSink, FileJSONSink, FileBlockSink write what they get, flushed on stop", async () => {
  await withTempDir(async (dir) => {
    const events = ["a", { b: 1 }, Buffer.from("c")];
    for (const [Cls, name, expected] of [
      [FileLineSink, "l.txt", 'a\n{"b":1}\nc\n'],
      [FileJSONSink, "j.jsonl", '"a"\n{"b":1}\n{"type":"Buffer","data":[99]}\n'],
    ] as const) {
      const { app, pipeline } = makePipeline();
      await runOnce(app, pipeline, new IteratorSource(app, pipeline, events), [new Cls(app, pipeline, { config: { path: join(dir, name), flush_period: 100 } })]);
      assert.equal(await readFile(join(dir, name), "utf8"), expected);
    }
    const { app, pipeline } = makePipeline();
    await runOnce(app, pipeline, new IteratorSource(app, pipeline, ["x", Buffer.from([0, 1, 2]), "y"]), [new FileBlockSink(app, pipeline, { config: { path: join(dir, "b.bin") } })]);
    assert.deepEqual(await readFile(join(dir, "b.bin")), Buffer.from([0x78, 0, 1, 2, 0x79]));
  });
});

test("FileCSVSink: header from the first event, RFC 4180 quoting, read back by csv-parse", async () => {
  await withTempDir(async (dir) => {
    const rows = [
      { id: 1, text: 'say "hi", then\nleave', empty: null },
      { id: 2, text: "plain", empty: "", extra: "ignored" },
      { text: "no id" },
    ];
    const { app, pipeline } = makePipeline();
    const path = join(dir, "out.csv");
    await runOnce(app, pipeline, new IteratorSource(app, pipeline, rows), [new FileCSVSink(app, pipeline, { config: { path } })]);
    const text = await readFile(path, "utf8");
    assert.equal(text.split("\n")[0], "id,text,empty");
    assert.deepEqual(parse(text, { columns: true }), [
      { id: "1", text: 'say "hi", then\nleave', empty: "" },
      { id: "2", text: "plain", empty: "" },
      { id: "", text: "no id", empty: "" },
    ]);
    const { app: app2, pipeline: p2 } = makePipeline();
    await runOnce(app2, p2, new IteratorSource(app2, p2, rows), [new FileCSVSink(app2, p2, { config: { fieldnames: ["text"], path, quoting: 1, delimiter: ";" } })]);
    assert.equal(await readFile(path, "utf8"), '"text"\n"say ""hi"", then\nleave"\n"plain"\n"no id"\n');
  });
});

test("rotation by size: every file is complete, with its header, and nothing is lost", async () => {
  await withTempDir(async (dir) => {
    const n = 2000;
    const rows = Array.from({ length: n }, (_, i) => ({ i, v: `value-${i}` }));
    for (const path of [join(dir, "plain.csv"), join(dir, "t-{index}.csv")]) {
      const { app, pipeline } = makePipeline();
      const sink = new FileCSVSink(app, pipeline, { config: { path, buffer_size: 1000, rotate_size: 5000 } });
      await runOnce(app, pipeline, new IteratorSource(app, pipeline, rows), [sink]);
      assert.ok(sink.rotated.length >= 5, `rotated ${sink.rotated.length}`);
    }
    for (const prefix of ["plain.csv", "t-"]) {
      const files = (await readdir(dir)).filter((f) => f.startsWith(prefix));
      let seen: number[] = [];
      for (const f of files) {
        const recs = parse(await readFile(join(dir, f), "utf8"), { columns: true }) as { i: string; v: string }[];
        for (const r of recs) {
          assert.equal(r.v, `value-${r.i}`);
          seen.push(Number(r.i));
        }
      }
      seen = seen.sort((a, b) => a - b);
      assert.deepEqual(seen, rows.map((r) => r.i), prefix);
    }
  });
});

test("rotate_period rotates by time", async () => {
  await withTempDir(async (dir) => {
    const { app, pipeline } = makePipeline();
    const sink = new FileLineSink(app, pipeline, { config: { path: join(dir, "out-{index}.txt"), flush_period: 0.05, rotate_period: 0.1 } });
    const source = new IteratorSource(app, pipeline, () => ["a", "b"]);
    const running = startTriggered(app, pipeline, source, [sink]);
    await cycleOnce(pipeline, source);
    await new Promise((r) => setTimeout(r, 600));
    await cycleOnce(pipeline, source);
    await running.stop();
    const files = (await readdir(dir)).sort();
    assert.ok(files.length >= 2, files.join());
    let all = "";
    for (const f of files) all += await readFile(join(dir, f), "utf8");
    assert.equal(all, "a\nb\na\nb\n");
  });
});

test("a source file is post-processed only after the sink wrote its events", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "in.txt"), "1\n2\n");
    const { app, pipeline } = makePipeline();
    const out = join(dir, "out.jsonl");
    const sink = new FileJSONSink(app, pipeline, { config: { path: out, flush_period: 1000 } });
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "*.txt") } });
    const running = startTriggered(app, pipeline, source, [sink]);
    await cycleOnce(pipeline, source);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual((await readdir(dir)).sort(), ["in.txt-locked"]);
    await running.stop();
    assert.deepEqual((await readdir(dir)).sort(), ["in.txt-processed", "out.jsonl"]);
    assert.equal(await readFile(out, "utf8"), '"1"\n"2"\n');
  });
});
