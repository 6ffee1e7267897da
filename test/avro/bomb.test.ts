// Own file: the RSS assertions compare against this process's peak, which other tests would raise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createDeflateRaw } from "node:zlib";
import { Pipeline } from "../../src/core/index.js";
import { IteratorSource } from "../../src/common/index.js";
import { AvroDeserializer, AvroSource, avroType, decodeContainer, encodeContainer } from "../../src/avro/index.js";
import { CollectSink, makeApp, runOnce, withTempDir } from "../file/helpers.js";
import { peakGrowthMB } from "../helpers/memory.js";

const GIB = 1024 * 1048576;

/** Avro's zigzag varint long. */
function long(n: number): Buffer {
  const bytes: number[] = [];
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** `bytes` zeros, deflated without ever holding them (one 1 MiB buffer written again and again). */
async function deflatedZeros(bytes: number): Promise<Buffer> {
  const zlib = createDeflateRaw({ level: 9 });
  const parts: Buffer[] = [];
  zlib.on("data", (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve, reject) => {
    zlib.on("end", resolve);
    zlib.on("error", reject);
  });
  const zeros = Buffer.alloc(1048576);
  for (let written = 0; written < bytes; written += zeros.length) {
    if (!zlib.write(zeros)) await new Promise((resolve) => zlib.once("drain", resolve));
  }
  zlib.end();
  await done;
  return Buffer.concat(parts);
}

/**
 * A valid deflate container (schema "long") whose one block inflates to 1 GiB of zeros: the header
 * and sync marker of a container avsc wrote, then a block of 1,000 records (small enough for the
 * container guard's count check) holding the bomb.
 */
async function bombContainer(): Promise<Buffer> {
  const sample = await encodeContainer(avroType("long" as never), [0], "deflate");
  const sync = sample.subarray(sample.length - 16);
  const header = sample.subarray(0, sample.indexOf(sync) + 16);
  const data = await deflatedZeros(GIB);
  return Buffer.concat([header, long(1000), long(data.length), data, sync]);
}

let bomb: Buffer;

test("building the bomb: about 1 MB of container for 1 GiB inflated", async () => {
  bomb = await bombContainer();
  assert.ok(bomb.length < 2 * 1048576, `${bomb.length} bytes`);
});

test("decodeContainer: a deflate block inflating past max_block_bytes is a clear error, never inflated fully", async () => {
  const growth = await peakGrowthMB(() => assert.rejects(decodeContainer(bomb, null), /inflates to more than max_block_bytes \(67108864 bytes\)/));
  assert.ok(growth < 200, `RSS grew by ${growth.toFixed(0)} MB`);
});

test("AvroDeserializer: the bomb is an error for the pipeline's rules, with the reason; bounded memory", async () => {
  const app = makeApp();
  const pipeline = new Pipeline(app, "D");
  const errors: Error[] = [];
  pipeline.handleError = (error: Error) => {
    errors.push(error);
    return true;
  };
  const sink = new CollectSink(app, pipeline);
  const small = await encodeContainer(avroType("long" as never), [1, 2, 3], "deflate");
  const growth = await peakGrowthMB(() => runOnce(app, pipeline, new IteratorSource(app, pipeline, [bomb, small]), [new AvroDeserializer(app, pipeline, { config: { max_block_bytes: 16 * 1048576 } }), sink]));
  assert.ok(growth < 200, `RSS grew by ${growth.toFixed(0)} MB`);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /inflates to more than max_block_bytes \(16777216 bytes\)/);
  // The next container is still decoded.
  assert.deepEqual(sink.events, [1, 2, 3]);
});

test("AvroSource: the bomb file is bad input naming the reason and becomes -failed; the next file is read; bounded memory", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "a.avro"), bomb);
    await writeFile(join(dir, "b.avro"), await encodeContainer(avroType("long" as never), [7, 8], "deflate"));
    const app = makeApp();
    const pipeline = new Pipeline(app, "R");
    const warnings: string[] = [];
    pipeline.log.addHook((record) => void (record.level === "warn" && warnings.push(JSON.stringify(record))));
    const sink = new CollectSink(app, pipeline);
    const source = new AvroSource(app, pipeline, { config: { path: join(dir, "*.avro"), files_per_cycle: 0, post: "move" } });
    const growth = await peakGrowthMB(() => runOnce(app, pipeline, source, [sink]));
    assert.ok(growth < 200, `RSS grew by ${growth.toFixed(0)} MB`);
    assert.deepEqual(sink.events, [7, 8]);
    assert.deepEqual((await readdir(dir)).sort(), ["a.avro-failed", "b.avro-processed"]);
    assert.equal(pipeline.warnings, 1);
    assert.ok(warnings.some((w) => /a\.avro/.test(w) && /inflates to more than max_block_bytes/.test(w)), warnings.join("\n"));
  });
});

test("max_block_bytes also bounds a block as stored (the container guard), and a block under it decodes", async () => {
  const type = avroType("long" as never);
  const records = Array.from({ length: 5000 }, (_, i) => i);
  const plain = await encodeContainer(type, records, "null");
  assert.deepEqual(await decodeContainer(plain, null), records);
  await assert.rejects(decodeContainer(plain, null, 100), /corrupt Avro container at offset \d+: block of \d+ bytes \(max_block_bytes 100\)/);
  const deflated = await encodeContainer(type, records, "deflate");
  assert.deepEqual(await decodeContainer(deflated, null, 1048576), records);
});
