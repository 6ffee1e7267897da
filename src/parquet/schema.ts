import type { SchemaElement } from "hyparquet-writer";
import { ConfigError } from "../core/index.js";

/** BSPump's schema-file types, plus `timestamp`. */
export const PARQUET_TYPES = ["string", "bool", "float", "int", "list", "decimal", "date", "time", "timestamp", "bytearray", "array", "json"] as const;
export type ParquetColumnType = (typeof PARQUET_TYPES)[number];

export interface ParquetColumn {
  name: string;
  type: ParquetColumnType;
}

/**
 * Parses a BSPump schema (`{"column": {"type": "int"}, ...}`; a bare `{"column": "int"}` is accepted
 * too). BSPump ignored an invalid schema; here it is a config error.
 */
export function parseSchema(text: string, where: string): ParquetColumn[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${where}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ConfigError(`${where}: expected a JSON object {"column": {"type": "..."}}`);
  const columns: ParquetColumn[] = [];
  for (const [name, spec] of Object.entries(parsed as Record<string, unknown>)) {
    const type = typeof spec === "string" ? spec : typeof spec === "object" && spec !== null ? (spec as { type?: unknown }).type : undefined;
    if (typeof type !== "string" || !(PARQUET_TYPES as readonly string[]).includes(type)) {
      throw new ConfigError(`${where}: column '${name}': type must be one of ${PARQUET_TYPES.join(", ")}, got ${JSON.stringify(type)}`);
    }
    columns.push({ name, type: type as ParquetColumnType });
  }
  if (columns.length === 0) throw new ConfigError(`${where}: the schema has no columns`);
  return columns;
}

/** Infers column types from the first rows: the columns in order of first appearance. */
export function inferSchema(rows: readonly Record<string, unknown>[]): ParquetColumn[] {
  const types = new Map<string, ParquetColumnType | null>();
  for (const row of rows) {
    for (const key in row) {
      const value = row[key];
      const seen = types.get(key) ?? null;
      const t = value === null || value === undefined ? null : typeOfValue(value);
      if (!types.has(key)) types.set(key, t);
      else if (t !== null && seen !== t) types.set(key, seen === null ? t : widen(seen, t));
    }
  }
  return [...types].map(([name, type]) => ({ name, type: type ?? "string" }));
}

function typeOfValue(value: unknown): ParquetColumnType {
  switch (typeof value) {
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return Number.isSafeInteger(value) ? "int" : "float";
    case "string":
      return "string";
    default:
      if (value instanceof Date) return "timestamp";
      if (value instanceof Uint8Array) return "bytearray";
      return "json";
  }
}

function widen(a: ParquetColumnType, b: ParquetColumnType): ParquetColumnType {
  if ((a === "int" && b === "float") || (a === "float" && b === "int")) return "float";
  // Mixed kinds: keep the values as JSON text rather than fail.
  return "json";
}

/** The Parquet schema element of a column (every column nullable). */
export function schemaElement(column: ParquetColumn): SchemaElement {
  const name = column.name;
  switch (column.type) {
    case "string":
      return { name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" };
    case "bool":
      return { name, type: "BOOLEAN", repetition_type: "OPTIONAL" };
    case "float":
    case "decimal":
      return { name, type: "DOUBLE", repetition_type: "OPTIONAL" };
    case "int":
      return { name, type: "INT64", repetition_type: "OPTIONAL" };
    case "date":
      return { name, type: "INT32", converted_type: "DATE", repetition_type: "OPTIONAL" };
    case "time":
    case "timestamp":
      return { name, type: "INT64", converted_type: "TIMESTAMP_MILLIS", repetition_type: "OPTIONAL" };
    case "bytearray":
      return { name, type: "BYTE_ARRAY", repetition_type: "OPTIONAL" };
    case "list":
    case "array":
    case "json":
      return { name, type: "BYTE_ARRAY", converted_type: "JSON", repetition_type: "OPTIONAL" };
  }
}

const DAY_MS = 86400000;

/**
 * Converts one value to what the writer takes for the column type; throws a TypeError naming the
 * column when the value cannot be converted (BSPump cast with str/int(float(x))/float/bool).
 */
export function convertValue(column: ParquetColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const fail = (): never => {
    throw new TypeError(`Parquet column '${column.name}' (${column.type}): cannot convert ${describe(value)}`);
  };
  switch (column.type) {
    case "string":
      if (typeof value === "string") return value;
      if (typeof value === "object" && !(value instanceof Date)) return JSON.stringify(value);
      return value instanceof Date ? value.toISOString() : String(value);
    case "int": {
      if (typeof value === "bigint") return value;
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : typeof value === "boolean" ? Number(value) : NaN;
      if (!Number.isFinite(n)) return fail();
      return BigInt(Math.trunc(n));
    }
    case "float":
    case "decimal": {
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : typeof value === "bigint" ? Number(value) : typeof value === "boolean" ? Number(value) : NaN;
      if (Number.isNaN(n) && !(typeof value === "number")) return fail();
      return n;
    }
    case "bool":
      if (typeof value === "boolean") return value;
      if (value === 0 || value === 1) return value === 1;
      if (typeof value === "string") {
        const w = value.trim().toLowerCase();
        if (w === "true" || w === "1" || w === "yes") return true;
        if (w === "false" || w === "0" || w === "no" || w === "") return false;
      }
      return fail();
    case "date":
    case "time":
    case "timestamp": {
      const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : typeof value === "string" ? Date.parse(value) : NaN;
      if (!Number.isFinite(ms)) return fail();
      if (column.type === "date") return Math.floor(ms / DAY_MS);
      return BigInt(Math.trunc(ms));
    }
    case "bytearray":
      if (value instanceof Uint8Array) return value;
      if (typeof value === "string") return Buffer.from(value);
      return fail();
    case "list":
    case "array":
    case "json":
      return value;
  }
}

function describe(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
