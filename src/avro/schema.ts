import { readFileSync } from "node:fs";
import { inflateRaw } from "node:zlib";
import { ContainerGuard } from "./ContainerGuard.js";
import avro from "avsc";
import { ConfigError, type ConfigKey } from "../core/index.js";

/**
 * The one declaration of `max_block_bytes` for the Avro readers (not `max_block_size`: that is
 * AvroSerializer's BSPump key, records per container). avsc inflates a whole block into one
 * Buffer and checks nothing: a 1 MB container with a deflate block of 1 GB of zeros took 3.3 GB. 64
 * MiB is far above what writers produce (avsc, Java and Python flush blocks at 16-64 KiB).
 */
export const MAX_BLOCK_BYTES_KEY = {
  type: "int",
  default: 64 * 1048576,
  min: 1,
  doc: "Largest Avro block in bytes, compressed and decompressed; a larger one makes the container corrupt (bad input), and is never inflated beyond this",
} satisfies ConfigKey;

type Codec = (data: Buffer, callback: (error: Error | null, data?: Buffer) => void) => void;

/** avsc's codecs (null, deflate), with deflate stopped by zlib once a block inflates past `maxBlockBytes`. */
function boundedCodecs(maxBlockBytes: number): Record<string, Codec> {
  return {
    null: (data, callback) => callback(null, data),
    deflate: (data, callback) =>
      // maxOutputLength: zlib stops and fails as soon as the output passes it (streaming, not after the fact).
      inflateRaw(data, { maxOutputLength: maxBlockBytes }, (error, out) => {
        if (error === null) callback(null, out);
        else if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") callback(new Error(`Avro deflate block inflates to more than max_block_bytes (${maxBlockBytes} bytes)`));
        else callback(error);
      }),
  };
}

/**
 * avsc reports a codec's failure as "deflate codec decompression error" with the reason in `cause`:
 * an error that says both.
 */
export function avroError(e: unknown): Error {
  const error = e instanceof Error ? e : new Error(String(e));
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? new Error(`${error.message}: ${cause.message}`, { cause }) : error;
}

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

type DecoderOptions = { parseHook: (s: avro.Schema) => avro.Type; readerSchema?: avro.Type; codecs: Record<string, Codec> };

/**
 * Decoder options: the writer's schema with our logical types, resolved to `reader` when given;
 * blocks inflated up to `maxBlockBytes` bytes.
 */
export function decoderOptions(reader: avro.Type | null, maxBlockBytes: number = MAX_BLOCK_BYTES_KEY.default as number): DecoderOptions {
  const opts: DecoderOptions = { parseHook: (s) => avroType(s), codecs: boundedCodecs(maxBlockBytes) };
  if (reader) opts.readerSchema = reader;
  return opts;
}

/** Decodes a whole Avro container (object container file bytes) into its records; no block over `maxBlockBytes` bytes. */
export function decodeContainer(data: Buffer, reader: avro.Type | null, maxBlockBytes: number = MAX_BLOCK_BYTES_KEY.default as number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const records: unknown[] = [];
    const decoder = new avro.streams.BlockDecoder(decoderOptions(reader, maxBlockBytes));
    const guard = new ContainerGuard(maxBlockBytes);
    decoder.on("data", (r: unknown) => records.push(r));
    decoder.on("error", (e) => reject(avroError(e)));
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
