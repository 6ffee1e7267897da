import { Readable } from "node:stream";
import { pipeline as streamPipeline } from "node:stream/promises";
import type { PoolClient } from "pg";
import { ConfigError, dependency } from "../core/index.js";

const copyStreams = dependency<typeof import("pg-copy-streams")>("pg-copy-streams");

/** PostgreSQL takes at most 65535 bind parameters per statement: multi-row INSERTs are cut below that. */
const MAX_PARAMETERS = 65535;

/** How PostgreSQLSink writes a bulk, worked out once from its config. */
export interface WritePlan {
  /** `COPY t (cols) FROM STDIN` when the bulk can be copied (a plain INSERT, method auto or copy), else null. */
  copy: string | null;
  /** `INSERT INTO t (cols) VALUES ` and what follows the tuples (`ON CONFLICT …`), when rows can be sent as one multi-row INSERT. */
  bulk: { head: string; tail: string } | null;
  /** The statement for one row, with $1…$n. */
  perRow: string;
  /** Values per row. */
  arity: number;
  /** Positions of the upsert key in a row (rows with the same key in one statement: the last wins). */
  keyIndexes: number[];
}

/** An identifier quoted for SQL when it needs to be (`"My Table"`), as it is otherwise. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A possibly schema-qualified name (`sales.orders`), each part quoted when it needs to be. */
export const quoteName = (name: string): string => name.split(".").map(quoteIdent).join(".");
const ident = quoteName;

/**
 * From BSPump's `query` (with `%s` placeholders) or from `table` and the columns (`data`, with an
 * optional `upsert_key`): the COPY, multi-row and per-row forms of the write.
 */
export function planWrite(section: string, query: string, table: string, columns: string[], upsertKey: string[], method: string): WritePlan {
  let target: string;
  let cols: string[];
  let tail = "";
  let perRow: string;
  if (query !== "") {
    if (table !== "") throw new ConfigError(`[${section}] give either query or table, not both`);
    const arity = (query.match(/%s/g) ?? []).length;
    if (arity !== columns.length) throw new ConfigError(`[${section}] query has ${arity} %s placeholders but data names ${columns.length} fields`);
    let n = 0;
    perRow = query.replace(/%s/g, () => `$${++n}`).replace(/%%/g, "%");
    const m = /^\s*INSERT\s+INTO\s+(\S+)\s*\(([^)]*)\)\s*VALUES\s*\(\s*%s(?:\s*,\s*%s)*\s*\)([\s\S]*?)\s*;?\s*$/i.exec(query);
    // Only when every placeholder sits in the VALUES tuple (an ON CONFLICT clause may hold more).
    if (m === null || m[3]!.includes("%s")) {
      if (method === "copy") throw new ConfigError(`[${section}] method copy needs a plain INSERT INTO t (cols) VALUES (%s, …) or table`);
      return { copy: null, bulk: null, perRow, arity, keyIndexes: [] };
    }
    target = m[1]!;
    cols = m[2]!.split(",").map((c) => c.trim());
    tail = m[3]!.trim().replace(/%%/g, "%");
  } else {
    if (table === "") throw new ConfigError(`[${section}] query or table is required`);
    target = ident(table);
    cols = columns.map(ident);
    for (const k of upsertKey) if (!columns.includes(k)) throw new ConfigError(`[${section}] upsert_key column ${k} is not among the data fields`);
    if (upsertKey.length > 0) {
      const rest = columns.filter((c) => !upsertKey.includes(c)).map(ident);
      tail = `ON CONFLICT (${upsertKey.map(ident).join(", ")}) ` + (rest.length ? `DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(", ")}` : "DO NOTHING");
    }
    perRow = `INSERT INTO ${target} (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})${tail ? " " + tail : ""}`;
  }
  const head = `INSERT INTO ${target} (${cols.join(", ")}) VALUES `;
  const plain = tail === "";
  if (method === "copy" && !plain) throw new ConfigError(`[${section}] method copy cannot upsert (ON CONFLICT); use method insert or auto`);
  const copy = plain && method !== "insert" ? `COPY ${target} (${cols.join(", ")}) FROM STDIN` : null;
  const keyIndexes = upsertKey.map((k) => columns.indexOf(k));
  return { copy, bulk: { head, tail: tail ? " " + tail : "" }, perRow, arity: cols.length, keyIndexes };
}

/** A value pg binds the same way COPY reads it: undefined → NULL, Date → ISO text, objects and arrays → JSON text. */
export function sqlValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v !== "object" || v === null || Buffer.isBuffer(v)) return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** One field in COPY's text format (tab-separated, `\N` for NULL, backslash escapes). */
export function copyField(v: unknown): string {
  if (v === null || v === undefined) return "\\N";
  switch (typeof v) {
    case "string":
      return NEEDS_ESCAPE.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r")) : v;
    case "number":
    case "bigint":
      return String(v);
    case "boolean":
      return v ? "t" : "f";
    default:
      if (Buffer.isBuffer(v)) return "\\\\x" + v.toString("hex");
      return copyField(sqlValue(v));
  }
}

/** Rows with the same upsert key: only the last is written (one statement cannot update a row twice). */
function lastPerKey(rows: unknown[][], keyIndexes: number[]): unknown[][] {
  if (keyIndexes.length === 0) return rows;
  const seen = new Map<string, number>();
  rows.forEach((row, i) => seen.set(JSON.stringify(keyIndexes.map((k) => row[k])), i));
  if (seen.size === rows.length) return rows;
  const keep = new Set(seen.values());
  return rows.filter((_, i) => keep.has(i));
}

/**
 * Writes rows in one transaction on the client: COPY, multi-row INSERTs (under the parameter
 * limit), or one statement per row. Committed when it resolves; rolled back when it throws.
 */
export async function writeRows(client: PoolClient, plan: WritePlan, rows: unknown[][]): Promise<void> {
  if (plan.copy !== null) {
    let text = "";
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      text += copyField(row[0]);
      for (let j = 1; j < row.length; j++) text += "\t" + copyField(row[j]);
      text += "\n";
    }
    // A COPY statement is its own transaction: all rows or none.
    await streamPipeline(Readable.from([text]), client.query(copyStreams().from(plan.copy)));
    return;
  }
  await client.query("BEGIN");
  try {
    if (plan.bulk !== null && rows.length > 1) {
      const unique = lastPerKey(rows, plan.keyIndexes);
      const per = Math.max(1, Math.floor(MAX_PARAMETERS / plan.arity));
      for (let start = 0; start < unique.length; start += per) {
        const chunk = unique.slice(start, start + per);
        const values: unknown[] = [];
        const tuples: string[] = [];
        for (const row of chunk) {
          const ph: string[] = [];
          for (const v of row) {
            values.push(sqlValue(v));
            ph.push(`$${values.length}`);
          }
          tuples.push(`(${ph.join(",")})`);
        }
        await client.query(plan.bulk.head + tuples.join(",") + plan.bulk.tail, values);
      }
    } else {
      for (const row of rows) await client.query(plan.perRow, row.map(sqlValue));
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}
