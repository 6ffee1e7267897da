/**
 * ParquetSink throughput: N flat events (5 columns, inferred schema) through a pipeline into Parquet
 * files (rows_in_chunk 10,000, rows_per_file 1,000,000), against hyparquet-writer called directly on
 * the same columns, in one run.
 *
 *   node --import tsx bench/parquet.ts [rows]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer/src/node.js";
import { BSPumpApplication, Config, Pipeline, Source } from "../src/core/index.js";
import { ParquetSink } from "../src/parquet/index.js";

const ROWS = Number(process.argv[2] ?? 500_000);
const dir = mkdtempSync(join(tmpdir(), "bspump-parquet-bench-"));
const events = Array.from({ length: ROWS }, (_, i) => ({ id: i, host: `server-${i % 50}`, value: i * 0.37, ok: i % 3 === 0, note: i % 10 ? `n${i}` : null }));

class ArraySource extends Source {
  async main(): Promise<void> {
    for (const e of events) {
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process(e);
    }
  }
}

let t0 = performance.now();
parquetWriteFile({
  filename: join(dir, "plain.parquet"),
  columnData: [
    { name: "id", data: events.map((e) => BigInt(e.id)), type: "INT64" },
    { name: "host", data: events.map((e) => e.host), type: "STRING" },
    { name: "value", data: events.map((e) => e.value), type: "DOUBLE" },
    { name: "ok", data: events.map((e) => e.ok), type: "BOOLEAN" },
    { name: "note", data: events.map((e) => e.note), type: "STRING" },
  ],
  rowGroupSize: 10_000,
});
const plain = (performance.now() - t0) / 1000;

const app = new BSPumpApplication({ args: [], config: Config.fromString("", "bench"), handleSignals: false });
app.logs.defaultLevel = "error";
const pipeline = new Pipeline(app, "Bench");
const sink = new ParquetSink(app, pipeline, { config: { file_name_template: join(dir, "p{index}.parquet"), rows_in_chunk: 10_000, rows_per_file: 1_000_000 } });
pipeline.build(new ArraySource(app, pipeline), sink);
app.pumpService.addPipeline(pipeline);
t0 = performance.now();
const running = app.run();
while (pipeline.eventIn < ROWS) await new Promise((r) => setTimeout(r, 5));
app.stop();
await running;
const ours = (performance.now() - t0) / 1000;
console.log(`rows: ${ROWS}`);
console.log(`hyparquet-writer directly: ${(ROWS / plain / 1e3).toFixed(0)} k rows/s (${plain.toFixed(2)} s)`);
console.log(`ParquetSink pipeline: ${(ROWS / ours / 1e3).toFixed(0)} k rows/s (${ours.toFixed(2)} s, files finished)`);
console.log(`ratio pipeline/direct time: ${(ours / plain).toFixed(2)}`);
rmSync(dir, { recursive: true, force: true });
