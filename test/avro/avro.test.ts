import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { Pipeline } from "../../src/core/index.js";
import { IteratorSource } from "../../src/common/index.js";
import { AvroDeserializer, AvroSerializer, AvroSink, AvroSource, avroType, decodeContainer, encodeContainer } from "../../src/avro/index.js";
import { CollectSink, makeApp, runOnce, tempDir } from "../file/helpers.js";

const SCHEMA = {
  type: "record",
  name: "Event",
  fields: [
    { name: "id", type: "long" },
    { name: "name", type: "string" },
    { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "tag", type: ["null", "string"], default: null },
  ],
};

function rows(n: number) {
  return Array.from({ length: n }, (_, i) => ({ id: i, name: `n${i}`, at: new Date(1700000000000 + i), tag: i % 2 ? "odd" : null }));
}

test("AvroSink writes container files that AvroSource reads back, with timestamp-millis as Dates", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const schemaFile = join(dir, "event.avsc");
    await writeFile(schemaFile, JSON.stringify(SCHEMA));
    const app = makeApp();
    const pipeline = new Pipeline(app, "W");
    // Ranges are declared: a block of no records was silently 1.
    assert.throws(() => new AvroSink(app, pipeline, { config: { schema_file: schemaFile, events_per_chunk: 0 } }), /key 'events_per_chunk': expected a number >= 1/);
    assert.throws(() => new AvroSerializer(app, pipeline, { config: { schema_file: schemaFile, max_block_size: 0 } }), /key 'max_block_size': expected a number >= 1/);
    const sink = new AvroSink(app, pipeline, { config: { schema_file: schemaFile, file_name_template: join(dir, "out{index}.avro"), events_per_file: 40 } });
    await runOnce(app, pipeline, new IteratorSource(app, pipeline, rows(100)), [sink]);
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith(".avro")).sort(), ["out0.avro", "out1.avro", "out2.avro"]);

    const app2 = makeApp();
    const p2 = new Pipeline(app2, "R");
    const collect = new CollectSink(app2, p2);
    await runOnce(app2, p2, new AvroSource(app2, p2, { config: { path: join(dir, "*.avro"), files_per_cycle: 0 } }), [collect]);
    assert.equal(collect.events.length, 100);
    const got = (collect.events as { id: number }[]).map((e) => ({ ...e })).sort((a, b) => a.id - b.id);
    assert.deepEqual(got, rows(100));
    assert.ok((got[0] as unknown as { at: Date }).at instanceof Date);
  } finally {
    await cleanup();
  }
});

test("AvroSerializer → AvroDeserializer round trip through the pipeline; invalid records are errors", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const schemaFile = join(dir, "event.avsc");
    await writeFile(schemaFile, JSON.stringify(SCHEMA));
    const app = makeApp();
    const pipeline = new Pipeline(app, "P");
    pipeline.handleError = () => true;
    const sink = new CollectSink(app, pipeline);
    const input: unknown[] = [...rows(25), { id: "bad" }];
    await runOnce(app, pipeline, new IteratorSource(app, pipeline, input), [
      new AvroSerializer(app, pipeline, { config: { schema_file: schemaFile, max_block_size: 10 } }),
      new AvroDeserializer(app, pipeline),
      sink,
    ]);
    assert.deepEqual(sink.events.map((e) => ({ ...(e as object) })), rows(25));
    assert.equal(pipeline.warnings, 1);
  } finally {
    await cleanup();
  }
});

test("property: random bytes and mutated containers never crash the Avro decoder (10,000 inputs)", async () => {
  const type = avroType(SCHEMA as never);
  const good = await encodeContainer(type, rows(5));
  let decoded = 0;
  let rejected = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(good.length)).map(([at, byte, cut]) => {
          const b = Buffer.from(good);
          b[at] = byte;
          return b.subarray(0, Math.max(cut, at + 1));
        }),
      ),
      async (bytes) => {
        try {
          const recs = await decodeContainer(Buffer.from(bytes), null);
          assert.ok(Array.isArray(recs));
          decoded++;
        } catch (e) {
          assert.ok(e instanceof Error);
          rejected++;
        }
      },
    ),
    { numRuns: 10000 },
  );
  assert.equal(decoded + rejected, 10000);
});

test("AvroSource: a corrupt file is reported and becomes -failed; the good one is read", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const type = avroType(SCHEMA as never);
    const good = await encodeContainer(type, rows(3));
    await writeFile(join(dir, "a.avro"), Buffer.concat([good.subarray(0, good.length - 20), Buffer.alloc(20, 7)]));
    await writeFile(join(dir, "b.avro"), good);
    const app = makeApp();
    const pipeline = new Pipeline(app, "R");
    const collect = new CollectSink(app, pipeline);
    await runOnce(app, pipeline, new AvroSource(app, pipeline, { config: { path: join(dir, "*.avro"), files_per_cycle: 0, post: "move" } }), [collect]);
    assert.ok(pipeline.warnings >= 1);
    assert.deepEqual((await readdir(dir)).sort(), ["a.avro-failed", "b.avro-processed"]);
    assert.deepEqual(collect.events.slice(-3).map((e) => ({ ...(e as object) })), rows(3));
    assert.ok((await readFile(join(dir, "b.avro-processed"))).length > 0);
  } finally {
    await cleanup();
  }
});

test("every single-byte corruption of a container is decoded or rejected, never a hang (deterministic scan)", async () => {
  const type = avroType(SCHEMA as never);
  const good = await encodeContainer(type, rows(5));
  // Byte 17 = 144 once sent avsc into a loop of billions of steps; the ContainerGuard stops it.
  const known = Buffer.from(good);
  known[17] = 144;
  await assert.rejects(decodeContainer(known, null), /corrupt Avro container|truncated Avro container|invalid/);
  let outcomes = 0;
  for (let at = 0; at < good.length; at++) {
    for (let byte = 0; byte < 256; byte += 15) {
      const b = Buffer.from(good);
      b[at] = byte;
      await decodeContainer(b, null).then(
        () => outcomes++,
        () => outcomes++,
      );
    }
  }
  assert.equal(outcomes, good.length * 18);
});
