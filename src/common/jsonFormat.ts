import type { ConfigSpec } from "../core/index.js";
import { pythonJsonDumps } from "../codec/json.js";

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
