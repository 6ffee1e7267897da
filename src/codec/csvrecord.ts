import { CSVRowParser } from "./CSVRowParser.js";
import type { CSVRowParserOptions } from "./csvdialect.js";

/**
 * Makes the object of a row: keys from the header, as csv.DictReader (missing values are null, extra
 * values a list under "null"). The one row → record mapping of the CSV readers.
 */
export type CSVRecordBuilder = (fields: string[], count: number) => Record<string, unknown>;

export function csvRecordBuilder(names: readonly string[]): CSVRecordBuilder {
  const n = names.length;
  if (names.includes("__proto__")) {
    return (fields, count) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) Object.defineProperty(row, names[i]!, { value: i < count ? fields[i] : null, enumerable: true, writable: true, configurable: true });
      if (count > n) row["null"] = fields.slice(n, count);
      return row;
    };
  }
  return (fields, count) => {
    const row: Record<string, unknown> = {};
    if (count === n) {
      for (let i = 0; i < n; i++) row[names[i]!] = fields[i];
      return row;
    }
    for (let i = 0; i < n; i++) row[names[i]!] = i < count ? fields[i] : null;
    if (count > n) row["null"] = fields.slice(n, count);
    return row;
  };
}

/**
 * Every row of a whole CSV document (a lookup file), each copied; the first bad row throws, naming
 * its line (a lookup is loaded whole or not at all).
 */
export function csvRows(data: Buffer, options: CSVRowParserOptions): string[][] {
  const rows: string[][] = [];
  let failure: Error | null = null;
  const parser = new CSVRowParser(
    options,
    (fields, count) => void rows.push(fields.slice(0, count)),
    (error, line) => void (failure ??= new Error(`${error.message} (line ${line})`)),
  );
  parser.parse(data);
  if (failure !== null) throw failure;
  return rows;
}
