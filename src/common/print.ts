import { inspect } from "node:util";

/** Where print components write: stdout unless a stream is given. */
export interface PrintOptions {
  stream?: NodeJS.WritableStream;
}

export function formatPlain(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return inspect(Buffer.from(value));
  return inspect(value, { depth: 4, breakLength: Infinity });
}

export function formatPretty(value: unknown): string {
  return inspect(value, { depth: null, colors: false, compact: false, sorted: true });
}
