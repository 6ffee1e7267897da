import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { Pipeline, PubSubTrigger } from "../../src/core/index.js";
import { IteratorSource } from "../../src/common/index.js";
import { FileBlockSink, FileCSVSink, FileJSONSink, FileLineSink, FileLineSource } from "../../src/file/index.js";
import { cycleOnce, makeApp, runOnce, startApp, tempDir } from "./helpers.js";

test("FileLineSink, FileJSONSink, FileBlockSink write what they get, flushed on stop", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const events = ["a", { b: 1 }, Buffer.from("c")];
    for (const [Cls, name, expected] of [
      [FileLineSink, "l.txt", 'a\n{"b":1}\nc\n'],
      [FileJSONSink, "j.jsonl", '"a"\n{"b":1}\n{"type":"Buffer","data":[99]}\n'],
    ] as const) {
      const app = makeApp();
      const pipeline = new Pipeline(app, "P");
      await runOnce(app, pipeline, new IteratorSource(app, pipeline, events), [new Cls(app, pipeline, { config: { path: join(dir, name), flush_period: 100 } })]);
      assert.equal(await readFile(join(dir, name), "utf8"), expected);
    }
    const app = makeApp();
    const pipeline = new Pipeline(app, "P");
    await runOnce(app, pipeline, new IteratorSource(app, pipeline, ["x", Buffer.from([0, 1, 2]), "y"]), [new FileBlockSink(app, pipeline, { config: { path: join(dir, "b.bin") } })]);
    assert.deepEqual(await readFile(join(dir, "b.bin")), Buffer.from([0x78, 0, 1, 2, 0x79]));
  } finally {
    await cleanup();
  }
});

test("FileCSVSink: header from the first event, RFC 4180 quoting, read back by csv-parse", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const rows = [
      { id: 1, text: 'say "hi", then\nleave', empty: null },
      { id: 2, text: "plain", empty: "", extra: "ignored" },
      { text: "no id" },
    ];
    const app = makeApp();
    const pipeline = new Pipeline(app, "P");
    const path = join(dir, "out.csv");
    await runOnce(app, pipeline, new IteratorSource(app, pipeline, rows), [new FileCSVSink(app, pipeline, { config: { path } })]);
    const text = await readFile(path, "utf8");
    assert.equal(text.split("\n")[0], "id,text,empty");
    assert.deepEqual(parse(text, { columns: true }), [
      { id: "1", text: 'say "hi", then\nleave', empty: "" },
      { id: "2", text: "plain", empty: "" },
      { id: "", text: "no id", empty: "" },
    ]);
    const app2 = makeApp();
    const p2 = new Pipeline(app2, "P");
    await runOnce(app2, p2, new IteratorSource(app2, p2, rows), [new FileCSVSink(app2, p2, { fieldnames: ["text"], config: { path, quoting: 1, delimiter: ";" } })]);
    assert.equal(await readFile(path, "utf8"), '"text"\n"say ""hi"", then\nleave"\n"plain"\n"no id"\n');
  } finally {
    await cleanup();
  }
});

test("rotation by size: every file is complete, with its header, and nothing is lost", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const n = 2000;
    const rows = Array.from({ length: n }, (_, i) => ({ i, v: `value-${i}` }));
    for (const path of [join(dir, "plain.csv"), join(dir, "t-{index}.csv")]) {
      const app = makeApp();
      const pipeline = new Pipeline(app, "P");
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
  } finally {
    await cleanup();
  }
});

test("rotate_period rotates by time", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const app = makeApp();
    const pipeline = new Pipeline(app, "P");
    const sink = new FileLineSink(app, pipeline, { config: { path: join(dir, "out-{index}.txt"), flush_period: 0.05, rotate_period: 0.1 } });
    const source = new IteratorSource(app, pipeline, () => ["a", "b"]);
    pipeline.build(source, sink);
    source.on(new PubSubTrigger(app, "test.never!"));
    app.pumpService.addPipeline(pipeline);
    const running = startApp(app);
    await cycleOnce(pipeline, source);
    await new Promise((r) => setTimeout(r, 600));
    await cycleOnce(pipeline, source);
    await running.stop();
    const files = (await readdir(dir)).sort();
    assert.ok(files.length >= 2, files.join());
    let all = "";
    for (const f of files) all += await readFile(join(dir, f), "utf8");
    assert.equal(all, "a\nb\na\nb\n");
  } finally {
    await cleanup();
  }
});

test("a source file is post-processed only after the sink wrote its events", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeFile(join(dir, "in.txt"), "1\n2\n");
    const app = makeApp();
    const pipeline = new Pipeline(app, "P");
    const out = join(dir, "out.jsonl");
    const sink = new FileJSONSink(app, pipeline, { config: { path: out, flush_period: 1000 } });
    const source = new FileLineSource(app, pipeline, { config: { path: join(dir, "*.txt") } });
    pipeline.build(source, sink);
    source.on(new PubSubTrigger(app, "test.never!"));
    app.pumpService.addPipeline(pipeline);
    const running = startApp(app);
    await cycleOnce(pipeline, source);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual((await readdir(dir)).sort(), ["in.txt-locked"]);
    await running.stop();
    assert.deepEqual((await readdir(dir)).sort(), ["in.txt-processed", "out.jsonl"]);
    assert.equal(await readFile(out, "utf8"), '"1"\n"2"\n');
  } finally {
    await cleanup();
  }
});
