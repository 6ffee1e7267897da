/**
 * Avro round trip: events → AvroSink (container files, rotated every 50 records, with a
 * `timestamp-millis` logical type) → AvroSource reads them back → JSON lines.
 *
 *   node --import tsx examples/avro-round-trip.ts [work-folder]
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "bspump-example-"));
const schemaFile = join(dir, "reading.avsc");
writeFileSync(
  schemaFile,
  JSON.stringify({
    type: "record",
    name: "Reading",
    fields: [
      { name: "sensor", type: "string" },
      { name: "value", type: "double" },
      { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
    ],
  }),
);
const readings = Array.from({ length: 120 }, (_, i) => ({ sensor: `s${i % 3}`, value: i / 10, at: new Date(Date.UTC(2026, 0, 1) + i * 1000) }));

// Write: an iterator of events into Avro container files.
const writer = new bspump.BSPumpApplication({ args: [] });
const write = new bspump.Pipeline(writer, "Write");
write.build(
  new bspump.common.IteratorSource(writer, write, readings).on(new bspump.RunOnceTrigger(writer)),
  new bspump.avro.AvroSink(writer, write, { config: { schema_file: schemaFile, file_name_template: join(dir, "readings{index}.avro"), events_per_file: 50 } }),
);
writer.pumpService.addPipeline(write);
await writer.run();
console.log("written:", readdirSync(dir).filter((f) => f.endsWith(".avro")).sort().join(", "));

// Read back: every container file, one event per record, into JSON lines.
const output = join(dir, "readings.jsonl");
const reader = new bspump.BSPumpApplication({ args: [] });
const read = new bspump.Pipeline(reader, "Read");
read.build(
  new bspump.avro.AvroSource(reader, read, { config: { path: join(dir, "*.avro"), files_per_cycle: 0 } }).on(new bspump.RunOnceTrigger(reader)),
  new bspump.file.FileJSONSink(reader, read, { config: { path: output } }),
);
reader.pumpService.addPipeline(read);
await reader.run();
const lines = readFileSync(output, "utf8").trim().split("\n");
console.log(`read back ${lines.length} of ${readings.length} records; first: ${lines[0]}`);
