/** InfluxDB line protocol: escaping and number formats (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/). */

export type Precision = "ns" | "u" | "ms" | "s" | "m" | "h";
export const PRECISIONS: readonly Precision[] = ["ns", "u", "ms", "s", "m", "h"];

/** How JS numbers are written: `bigint` → only BigInt values get the `i` suffix; `auto` → every integral number does. */
export type IntegerMode = "bigint" | "auto";

const MEASUREMENT_SPECIAL = /[,\s\\]/;
const KEY_SPECIAL = /[,=\s\\]/;

/** Measurement names: commas and spaces escaped. */
export function escapeMeasurement(name: string): string {
  if (!MEASUREMENT_SPECIAL.test(name)) return name;
  return name.replace(/\\/g, "\\\\").replace(/,/g, "\\,").replace(/ /g, "\\ ").replace(/\n/g, "\\n").replace(/\t/g, "\\t");
}

/** Tag keys, tag values and field keys: commas, equals signs and spaces escaped. */
export function escapeKey(key: string): string {
  if (!KEY_SPECIAL.test(key)) return key;
  return key.replace(/\\/g, "\\\\").replace(/,/g, "\\,").replace(/=/g, "\\=").replace(/ /g, "\\ ").replace(/\n/g, "\\n").replace(/\t/g, "\\t");
}

/** String field values: double-quoted, with `"` and `\` escaped. */
export function quoteString(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** One field value, or null when the field is to be left out (null/undefined). Throws on values InfluxDB cannot store. */
export function fieldValue(value: unknown, integers: IntegerMode): string | null {
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`field value ${value} is not a finite number`);
      if (integers === "auto" && Number.isInteger(value)) return `${value}i`;
      // A bare number is a float field in line protocol (exponents such as 1e+21 are accepted).
      return String(value);
    case "bigint":
      return `${value}i`;
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return quoteString(value);
    case "undefined":
      return null;
    case "object":
      if (value === null) return null;
      if (value instanceof Date) return quoteString(value.toISOString());
      return quoteString(JSON.stringify(value));
    default:
      throw new TypeError(`field value of type ${typeof value} cannot be written`);
  }
}

const US_PER: Record<"ms" | "s" | "m" | "h", number> = { ms: 1e3, s: 1e6, m: 6e7, h: 3.6e9 };

/**
 * A timestamp in the given precision: a number is seconds since the epoch (BSPump's convention), a
 * Date is converted exactly, a bigint is taken as already in the precision.
 */
export function timestamp(t: unknown, precision: Precision): string {
  if (typeof t === "bigint") return t.toString();
  let seconds: number;
  if (t instanceof Date) {
    const ms = t.getTime();
    if (Number.isNaN(ms)) throw new TypeError("invalid Date timestamp");
    if (precision === "ns") return (BigInt(ms) * 1000000n).toString();
    if (precision === "u") return (BigInt(ms) * 1000n).toString();
    if (precision === "ms") return String(ms);
    seconds = ms / 1000;
  } else if (typeof t === "number" && Number.isFinite(t)) seconds = t;
  else throw new TypeError(`timestamp must be seconds (number), a Date or a bigint, got ${typeof t}`);
  // Whole microseconds first: a double of epoch seconds resolves about a quarter of a microsecond,
  // and seconds * 1e6 (< 2^53) is exact enough to round; coarser precisions truncate from there.
  // A bigint time gives exact nanoseconds.
  const us = Math.round(seconds * 1e6);
  if (precision === "ns") return (BigInt(us) * 1000n).toString();
  if (precision === "u") return String(us);
  return String(Math.floor(us / US_PER[precision]));
}

/** A point as an object: what InfluxDBSink accepts besides BSPump's tuple and ready-made lines. */
export interface InfluxPoint {
  measurement: string;
  tags?: Record<string, unknown>;
  fields: Record<string, unknown>;
  /** Seconds since the epoch, a Date, or a bigint already in the connection's precision; omitted: the server's time. */
  time?: number | Date | bigint;
}

/** One line (with its newline) for a point object. Throws TypeError on a point InfluxDB would refuse. */
export function pointLine(point: InfluxPoint, precision: Precision, integers: IntegerMode): string {
  if (typeof point.measurement !== "string" || point.measurement === "") throw new TypeError("point has no measurement");
  let line = escapeMeasurement(point.measurement);
  const tags = point.tags;
  if (tags) {
    // Tags sorted by key, as InfluxDB recommends for performance.
    const keys = Object.keys(tags).sort();
    for (const k of keys) {
      const v = tags[k];
      if (v === undefined || v === null || v === "") continue;
      line += `,${escapeKey(k)}=${escapeKey(String(v))}`;
    }
  }
  let sep = " ";
  const fields = point.fields;
  if (typeof fields !== "object" || fields === null) throw new TypeError("point has no fields");
  for (const k in fields) {
    const v = fieldValue(fields[k], integers);
    if (v === null) continue;
    line += `${sep}${escapeKey(k)}=${v}`;
    sep = ",";
  }
  if (sep === " ") throw new TypeError(`point '${point.measurement}' has no field values`);
  if (point.time !== undefined) line += ` ${timestamp(point.time, precision)}`;
  return line + "\n";
}
