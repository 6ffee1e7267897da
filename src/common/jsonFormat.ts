import type { ConfigSpec } from "../core/index.js";
import { pythonJsonDumps, pythonJsonDumpsBytes } from "../codec/json.js";

/** The `json_format` key of the BSPump-named JSON serializers. */
export const JSON_FORMAT_CONFIG = {
  json_format: {
    type: "string",
    default: "python",
    choices: ["python", "compact"],
    doc: "python: BSPump's json.dumps form ({\"a\": 1}, non-ASCII as \\uXXXX), byte for byte; compact: JSON.stringify's ({\"a\":1}, UTF-8 as is), about half the cost",
  },
} satisfies ConfigSpec;

export type JsonWriter = (value: unknown) => string | undefined;

/** The writer of a `json_format` value. */
export function jsonWriter(format: string): JsonWriter {
  return format === "compact" ? JSON.stringify : pythonJsonDumps;
}

export type JsonBytesWriter = (value: unknown) => Buffer | undefined;

/** Encodings that write ASCII as ASCII: the python form (all ASCII) is the same bytes in each. */
const ASCII_COMPATIBLE = new Set<BufferEncoding>(["utf8", "utf-8", "latin1", "ascii", "binary"]);

/** The writer of a `json_format` value to bytes in `encoding`. */
export function jsonBytesWriter(format: string, encoding: BufferEncoding): JsonBytesWriter {
  if (format !== "compact" && ASCII_COMPATIBLE.has(encoding)) return pythonJsonDumpsBytes;
  const write = jsonWriter(format);
  return (value) => {
    const text = write(value);
    return text === undefined ? undefined : Buffer.from(text, encoding);
  };
}
