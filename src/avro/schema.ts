import { readFileSync } from "node:fs";
import { ContainerGuard } from "./ContainerGuard.js";
import avro from "avsc";
import { ConfigError } from "../core/index.js";

/** `timestamp-millis` (a long): read as a Date; a Date or a number is written. */
class TimestampMillisType extends avro.types.LogicalType {
  protected override _fromValue(value: number): Date {
    return new Date(value);
  }
  protected override _toValue(value: unknown): unknown {
    return value instanceof Date ? value.getTime() : value;
  }
  protected override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, "long", "int", "logical:timestamp-millis")) return (v) => v;
    return undefined;
  }
}

/** `timestamp-micros` (a long): read as a Date (milliseconds precision); a Date or a number of micros is written. */
class TimestampMicrosType extends avro.types.LogicalType {
  protected override _fromValue(value: number): Date {
    return new Date(Math.floor(value / 1000));
  }
  protected override _toValue(value: unknown): unknown {
    return value instanceof Date ? value.getTime() * 1000 : value;
  }
  protected override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, "long", "logical:timestamp-micros")) return (v) => v;
    return undefined;
  }
}

/** `date` (an int, days since the epoch): read as a Date at UTC midnight. */
class DateType extends avro.types.LogicalType {
  protected override _fromValue(value: number): Date {
    return new Date(value * 86400000);
  }
  protected override _toValue(value: unknown): unknown {
    return value instanceof Date ? Math.floor(value.getTime() / 86400000) : value;
  }
  protected override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, "int", "logical:date")) return (v) => v;
    return undefined;
  }
}

export const LOGICAL_TYPES = {
  "timestamp-millis": TimestampMillisType,
  "timestamp-micros": TimestampMicrosType,
  date: DateType,
};

/** An Avro type from a schema object, with the logical types above. */
export function avroType(schema: avro.Schema | avro.Type): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { logicalTypes: LOGICAL_TYPES, wrapUnions: false });
}

/** Reads a schema file (.avsc JSON); null for an empty name (BSPump's load_avro_schema). */
export function loadAvroSchema(path: string, where = "schema_file"): avro.Type | null {
  if (path === "") return null;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${where}: cannot read Avro schema '${path}': ${(e as Error).message}`);
  }
  try {
    return avroType(JSON.parse(text) as avro.Schema);
  } catch (e) {
    throw new ConfigError(`${where}: invalid Avro schema '${path}': ${(e as Error).message}`);
  }
}

/** Decoder options: the writer's schema with our logical types, resolved to `reader` when given. */
export function decoderOptions(reader: avro.Type | null): { parseHook: (s: avro.Schema) => avro.Type; readerSchema?: avro.Type } {
  const opts: { parseHook: (s: avro.Schema) => avro.Type; readerSchema?: avro.Type } = { parseHook: (s) => avroType(s) };
  if (reader) opts.readerSchema = reader;
  return opts;
}

/** Decodes a whole Avro container (object container file bytes) into its records. */
export function decodeContainer(data: Buffer, reader: avro.Type | null): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const records: unknown[] = [];
    const decoder = new avro.streams.BlockDecoder(decoderOptions(reader));
    const guard = new ContainerGuard();
    decoder.on("data", (r: unknown) => records.push(r));
    decoder.on("error", reject);
    decoder.on("end", () => resolve(records));
    guard.on("error", (e) => {
      reject(e);
      decoder.destroy();
    });
    guard.pipe(decoder);
    guard.end(data);
  });
}

/** Encodes records into an Avro container (bytes). */
export function encodeContainer(type: avro.Type, records: readonly unknown[], codec = "null"): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const encoder = new avro.streams.BlockEncoder(type, { codec });
    encoder.on("data", (b: Buffer) => parts.push(b));
    encoder.on("error", reject);
    encoder.on("end", () => resolve(Buffer.concat(parts)));
    try {
      for (const r of records) encoder.write(r);
    } catch (e) {
      reject(e as Error);
      return;
    }
    encoder.end();
  });
}
