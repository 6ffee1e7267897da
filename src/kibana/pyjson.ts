/**
 * JSON text the way Python's `json.dumps` writes it, so that a Kibana Object Library written by
 * this port is byte-for-byte the one BSPump's `bskibana` writes: `", "` and `": "` separators
 * without indent, `","` plus newline with indent, and non-ASCII escaped as `\uXXXX` (ensure_ascii).
 */

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += s[i];
  }
  return out + '"';
}

function pyNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
  return String(n);
}

/** Python `json.dumps(value)` (no indent) or `json.dump(value, f, indent=indent)`. */
export function pyDumps(value: unknown, indent?: string): string {
  return write(value, indent, "");
}

function write(value: unknown, indent: string | undefined, current: string): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return pyString(value);
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return value.toString();
  const inner = indent === undefined ? "" : current + indent;
  const open = indent === undefined ? "" : "\n" + inner;
  const sep = indent === undefined ? ", " : ",\n" + inner;
  const close = indent === undefined ? "" : "\n" + current;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return "[" + open + value.map((v) => write(v, indent, inner)).join(sep) + close + "]";
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  return "{" + open + entries.map(([k, v]) => pyString(k) + ": " + write(v, indent, inner)).join(sep) + close + "}";
}

/** Deep equality of JSON values; object key order does not matter (Python dict `==`). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ak = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bk = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
