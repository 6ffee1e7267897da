// The codec layer's line framing: the one empty-line rule, max_line_length as bad input, and a file
// with no newline read in bounded memory, with stop honoured.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createWriteStream, existsSync, openSync, closeSync, ftruncateSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline as streamPipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { readdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { join } from "node:path";
import { LineFramer, type LineTarget } from "../../src/codec/index.js";
import { FileCSVSource, FileJSONSource, FileLineSource, type FileABCSource } from "../../src/file/index.js";
import { HTTPClientLineSource } from "../../src/http/index.js";
import { StreamServerSource } from "../../src/socket/index.js";
import { CollectSink, makePipeline, runOnce, until, withTempDir } from "../file/helpers.js";

/** Frames `chunks` and records what the target got. */
async function frame(chunks: string[], options: { encoding?: BufferEncoding | null; maxLength?: number; keepCR?: boolean } = {}) {
  const lines: [unknown, number][] = [];
  const tooLong: [number, string, number][] = [];
  const target: LineTarget<string> = {
    whenReady: () => true,
    emitLine: (line, lineNo, context) => {
      assert.equal(context, "ctx");
      lines.push([Buffer.isBuffer(line) ? `bytes:${line.toString()}` : line, lineNo]);
    },
    lineTooLong: (lineNo, head, length) => void tooLong.push([lineNo, head.toString(), length]),
  };
  const framer = new LineFramer(target, { encoding: options.encoding === undefined ? "utf8" : options.encoding, maxLength: options.maxLength ?? 1 << 20, keepCR: options.keepCR });
  async function* source() {
    for (const c of chunks) yield Buffer.from(c);
  }
  const done = await framer.frame(source(), "ctx");
  return { lines, tooLong, done };
}

test("empty-line rule: every line is handed over, empty ones too; text after the last \\n is a line only when there is some", async () => {
  const expected = [
    ["a", 1],
    ["", 2],
    ["b", 3],
    ["", 4],
    ["c", 5],
  ];
  assert.deepEqual((await frame(["a\n\nb\r\n", "\nc"])).lines, expected);
  assert.deepEqual((await frame(["a\n", "\nb\r", "\n\nc\n"])).lines, expected);
  assert.deepEqual((await frame(["a\n"])).lines, [["a", 1]]);
  assert.deepEqual((await frame(["\n"])).lines, [["", 1]]);
  assert.deepEqual((await frame([""])).lines, []);
  // Bytes mode, and BSPump's sockets keeping the "\r".
  assert.deepEqual((await frame(["x\r\n", "y"], { encoding: null })).lines, [["bytes:x", 1], ["bytes:y", 2]]);
  assert.deepEqual((await frame(["x\r\n", "y\r"], { keepCR: true })).lines, [["x\r", 1], ["y\r", 2]]);
});

test("max_length: an over-long line is reported once (number, head, length) and dropped; the lines after it go on, numbered", async () => {
  // Inside one chunk, across chunks, and as the last (unterminated) line.
  const r = await frame(["ok\n0123456789\nfine\n01234", "56789", "0\nend\n", "xxxxxxxxxxxxxxxxxxxx"], { maxLength: 8 });
  assert.deepEqual(r.lines, [
    ["ok", 1],
    ["fine", 3],
    ["end", 5],
  ]);
  assert.deepEqual(
    r.tooLong.map(([n, head]) => [n, head]),
    [
      [2, "0123456789"],
      [4, "0123456789"],
      [6, "xxxxxxxxxxxxxxxxxxxx"],
    ],
  );
  for (const [, , length] of r.tooLong) assert.ok(length > 8);
  // A line of exactly max_length bytes is fine, in one chunk or spanning several.
  assert.deepEqual((await frame(["12345678\n1234", "5678\n"], { maxLength: 8 })).lines, [
    ["12345678", 1],
    ["12345678", 2],
  ]);
  assert.deepEqual((await frame(["12345678\n1234", "5678\n"], { maxLength: 7 })).tooLong.length, 2);
});

test("FileLineSource: an over-long line is bad input naming file and line (warning, dead letter); FileJSONSource counts skipped empty lines", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "a.txt"), `one\n${"z".repeat(5000)}\n\nthree\n`);
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const dead = new CollectSink(app, pipeline, { id: "dead" });
    pipeline.deadLetter = dead;
    await runOnce(app, pipeline, new FileLineSource(app, pipeline, { config: { path: join(dir, "a.txt"), max_line_length: 1000 } }), [sink]);
    assert.deepEqual(sink.events, ["one", "", "three"]);
    assert.deepEqual(sink.contexts.map((c) => c.line), [1, 3, 4]);
    assert.equal(pipeline.warnings, 1);
    assert.equal(dead.events.length, 1);
    const letter = dead.events[0] as { event: string; error: { message: string } };
    assert.match(letter.error.message, /max_line_length.*a\.txt:2/);
    assert.equal(letter.event, "z".repeat(1024));
    assert.deepEqual(await readdir(dir), ["a.txt-processed"]);
  });
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "a.jsonl"), '{"a":1}\n\n{"a":2}\n\n');
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const source = new FileJSONSource(app, pipeline, { config: { path: join(dir, "a.jsonl"), format: "lines" } });
    await runOnce(app, pipeline, source, [sink]);
    assert.deepEqual(sink.events, [{ a: 1 }, { a: 2 }]);
    assert.equal(source.emptyLines, 2);
    const metric = app.metrics.collect().find((m) => m.name === "bspump.file.json");
    assert.deepEqual(metric?.fields, { empty_lines: 2 }, "the skipped empty lines are a metric");
    assert.equal(pipeline.warnings, 0);
  });
});

/** A sparse file of `bytes` zero bytes: no newline anywhere, and no disk used. */
function sparse(path: string, bytes: number): void {
  const fd = openSync(path, "w");
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

/** Runs `make`'s source over the file while sampling memory; returns the peak growth and the result. */
async function readBounded(make: (app: ReturnType<typeof makePipeline>["app"], pipeline: ReturnType<typeof makePipeline>["pipeline"]) => FileABCSource, stopAfterMs?: number) {
  const { app, pipeline } = makePipeline();
  const sink = new CollectSink(app, pipeline);
  const source = make(app, pipeline);
  globalThis.gc?.();
  const base = process.memoryUsage();
  let peakRss = 0;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss - base.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
  }, 5);
  const stopper = stopAfterMs === undefined ? undefined : setTimeout(() => void app.stop(), stopAfterMs);
  const t0 = performance.now();
  try {
    await runOnce(app, pipeline, source, [sink]);
  } finally {
    clearInterval(sampler);
    clearTimeout(stopper);
  }
  return { seconds: (performance.now() - t0) / 1000, peakRss, peakHeap, events: sink.events.length, warnings: pipeline.warnings };
}

test("a file with no newline: one bad-input warning, no event, memory bounded by max_line_length (FileLineSource, FileCSVSource)", async () => {
  await withTempDir(async (dir) => {
    const MB = 1048576;
    sparse(join(dir, "zeros.txt"), 512 * MB);
    const lines = await readBounded((app, p) => new FileLineSource(app, p, { config: { path: join(dir, "zeros.txt"), max_line_length: 4 * MB } }));
    assert.equal(lines.events, 0);
    assert.equal(lines.warnings, 1);
    // Before: the whole "line" was held (and re-copied on every read): 512 MB and more.
    console.log(`no newline: FileLineSource ${lines.seconds.toFixed(1)} s, heap+buffers +${(lines.peakHeap / MB).toFixed(0)} MB, RSS +${(lines.peakRss / MB).toFixed(0)} MB`);
    assert.ok(lines.peakHeap < 64 * MB, `heap + buffers grew by ${(lines.peakHeap / MB).toFixed(0)} MB`);
    assert.ok(lines.peakRss < 128 * MB, `RSS grew by ${(lines.peakRss / MB).toFixed(0)} MB`);
    assert.ok(existsSync(join(dir, "zeros.txt-processed")));

    sparse(join(dir, "zeros.csv"), 256 * MB);
    const rows = await readBounded((app, p) => new FileCSVSource(app, p, { config: { path: join(dir, "zeros.csv"), fieldnames: ["a"], max_line_length: 4 * MB } }));
    assert.equal(rows.events, 0);
    assert.equal(rows.warnings, 1);
    console.log(`no newline: FileCSVSource ${rows.seconds.toFixed(1)} s, heap+buffers +${(rows.peakHeap / MB).toFixed(0)} MB, RSS +${(rows.peakRss / MB).toFixed(0)} MB`);
    assert.ok(rows.peakHeap < 64 * MB, `heap + buffers grew by ${(rows.peakHeap / MB).toFixed(0)} MB`);
    assert.ok(rows.peakRss < 128 * MB, `RSS grew by ${(rows.peakRss / MB).toFixed(0)} MB`);

    // A decompression bomb: 256 MB of zeros in a small .gz is the same one over-long line.
    await streamPipeline(Readable.from(zeros(256 * MB)), createGzip(), createWriteStream(join(dir, "bomb.txt.gz")));
    const bomb = await readBounded((app, p) => new FileLineSource(app, p, { config: { path: join(dir, "bomb.txt.gz"), max_line_length: 4 * MB } }));
    console.log(`no newline: .gz bomb ${bomb.seconds.toFixed(1)} s, heap+buffers +${(bomb.peakHeap / MB).toFixed(0)} MB, RSS +${(bomb.peakRss / MB).toFixed(0)} MB`);
    assert.equal(bomb.events, 0);
    assert.equal(bomb.warnings, 1);
    assert.ok(bomb.peakHeap < 64 * MB, `heap + buffers grew by ${(bomb.peakHeap / MB).toFixed(0)} MB`);
    assert.ok(bomb.peakRss < 128 * MB, `RSS grew by ${(bomb.peakRss / MB).toFixed(0)} MB`);
  });
});

function* zeros(bytes: number): Generator<Buffer> {
  const block = Buffer.alloc(1048576);
  for (let left = bytes; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
}

test("a huge file with no newline: a stop is honoured promptly and the file gets its name back", async () => {
  await withTempDir(async (dir) => {
    sparse(join(dir, "huge.txt"), 64 * 1024 * 1048576); // 64 GiB of zeros: minutes to read
    const r = await readBounded((app, p) => new FileLineSource(app, p, { config: { path: join(dir, "huge.txt") } }), 300);
    assert.ok(r.seconds < 10, `stopped after ${r.seconds.toFixed(1)} s`);
    assert.equal(r.events, 0);
    assert.deepEqual(await readdir(dir), ["huge.txt"]);
  });
});

test("StreamServerSource and HTTPClientLineSource: the same framing — over-long lines are bad input, empty lines are events", async () => {
  const { app, pipeline } = makePipeline();
  const sink = new CollectSink(app, pipeline);
  const source = new StreamServerSource(app, pipeline, { config: { address: "127.0.0.1 0", max_line_length: 10 } });
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => source.port > 0);
  const socket = connect(source.port, "127.0.0.1");
  socket.end(`ok\n${"x".repeat(50)}\n\nfine\r\n${"y".repeat(30)}`);
  await until(() => source.stats.long_lines === 2 && sink.events.length === 3);
  assert.deepEqual(sink.events, ["ok", "", "fine\r"]);
  assert.equal(pipeline.warnings, 2);
  app.stop();
  await running;

  const server = createServer((_req, res) => res.end(`a\n\n${"z".repeat(50)}\nb  \n`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { app: app2, pipeline: p2 } = makePipeline();
    const sink2 = new CollectSink(app2, p2);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await runOnce(app2, p2, new HTTPClientLineSource(app2, p2, { config: { url, max_line_length: 10 } }), [sink2]);
    assert.deepEqual(sink2.events, ["a", "", "b"]);
    assert.equal(p2.warnings, 1);
  } finally {
    server.close();
  }
});

test("frameWhole (a small file read whole) hands over what frame() does, synchronously while the target is ready; it waits and stops as frame() does", async () => {
  const inputs = ["", "\n", "a", "a\n", "a\n\nb\r\n\nc", "ok\n0123456789\nfine\n", "x\r\ny\r", "0123456789", "ab\n0123456789", "12345678\n12345678\n"];
  const modes: { encoding: BufferEncoding | null; keepCR?: boolean; maxLength: number }[] = [
    { encoding: "utf8", maxLength: 8 },
    { encoding: null, maxLength: 8 },
    { encoding: "utf8", keepCR: true, maxLength: 1 << 20 },
  ];
  /** What a framer handed over; `ready(n)` answers the n-th readiness check. */
  function recorder(ready: (n: number) => true | Promise<boolean>) {
    const got: unknown[] = [];
    let checks = 0;
    const target: LineTarget<null> = {
      whenReady: () => ready(++checks),
      emitLine: (line, lineNo) => void got.push([Buffer.isBuffer(line) ? `bytes:${line.toString()}` : line, lineNo]),
      lineTooLong: (lineNo, head, length) => void got.push(["too long", lineNo, head.toString(), length]),
    };
    return { got, target };
  }
  for (const mode of modes) {
    for (const input of inputs) {
      const options = { ...mode, readyEvery: 1 };
      const expected = recorder(() => true);
      assert.equal(await new LineFramer(expected.target, options).frame([Buffer.from(input)], null), true);
      const sync = recorder(() => true);
      assert.equal(new LineFramer(sync.target, options).frameWhole(Buffer.from(input), null), true, `synchronous for ${JSON.stringify(input)}`);
      assert.deepEqual(sync.got, expected.got, `${JSON.stringify(input)} in ${JSON.stringify(mode)}`);
      // Not ready at every other check: a promise, and the same lines once it resolves.
      const waiting = recorder((n) => (n % 2 === 0 ? new Promise((resolve) => setImmediate(() => resolve(true))) : true));
      const framed = new LineFramer(waiting.target, options).frameWhole(Buffer.from(input), null);
      assert.equal(await framed, true);
      assert.deepEqual(waiting.got, expected.got, `waiting, ${JSON.stringify(input)}`);
    }
  }
  // Stopping (a readiness check answers false): both stop at the same line.
  const input = Buffer.from("a\nb\nc\nd\ne");
  const stopAt = (n: number) => (n === 3 ? Promise.resolve(false) : true);
  const whole = recorder(stopAt);
  const chunked = recorder(stopAt);
  assert.equal(await new LineFramer(whole.target, { encoding: "utf8", maxLength: 100, readyEvery: 1 }).frameWhole(input, null), false);
  assert.equal(await new LineFramer(chunked.target, { encoding: "utf8", maxLength: 100, readyEvery: 1 }).frame([input], null), false);
  assert.deepEqual(whole.got, [["a", 1], ["b", 2]]);
  assert.deepEqual(whole.got, chunked.got);
});
