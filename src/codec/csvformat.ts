import type { CSVDialect } from "./csvdialect.js";

/** The dialect keys writing needs: RFC 4180 fields with Python csv's quoting modes (0 minimal, 1 all, 2 non-numeric, 3 none). */
export type CsvFormat = Pick<CSVDialect, "delimiter" | "quotechar" | "escapechar" | "doublequote" | "quoting" | "lineterminator">;

export function formatField(value: unknown, f: CsvFormat): string {
  if (value === null || value === undefined) return f.quoting === 1 || f.quoting === 2 ? `${f.quotechar}${f.quotechar}` : "";
  const isNumber = typeof value === "number" || typeof value === "bigint";
  let s: string = typeof value === "string" ? value : value instanceof Date ? value.toISOString() : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (f.quoting === 3) {
    if (f.escapechar) {
      const esc = f.escapechar;
      let out = "";
      for (const ch of s) out += ch === f.delimiter || ch === f.quotechar || ch === "\n" || ch === "\r" || ch === esc ? esc + ch : ch;
      return out;
    }
    return s;
  }
  const needs =
    f.quoting === 1 ||
    (f.quoting === 2 && !isNumber) ||
    s.includes(f.delimiter) ||
    s.includes(f.quotechar) ||
    s.includes("\n") ||
    s.includes("\r");
  if (!needs) return s;
  if (s.includes(f.quotechar)) s = s.split(f.quotechar).join(f.doublequote ? f.quotechar + f.quotechar : (f.escapechar || "\\") + f.quotechar);
  return f.quotechar + s + f.quotechar;
}

export function formatRow(values: readonly unknown[], f: CsvFormat): string {
  let line = "";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += f.delimiter;
    line += formatField(values[i], f);
  }
  return line + f.lineterminator;
}
