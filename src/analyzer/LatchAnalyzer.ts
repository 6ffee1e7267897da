import type { Application, ConfigSpec, TypedConfig, EventContext, Pipeline } from "../core/index.js";
import { Analyzer, type AnalyzerOptions } from "./Analyzer.js";

/** Raised for an invalid query (BSPump's QueryError). */
export class QueryError extends Error {
  override name = "QueryError";
}

/** A Mongo-style query: `{field: value}`, `{field: {$gt: 3}}`, `$and`, `$or`, `$not`, `$in`, `$nin`, `$exists`, `$ne`, `$eq`, `$gte`, `$lt`, `$lte`. */
export type Query = Readonly<Record<string, unknown>>;

const FIELD_OPS = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$not"]);

function getPath(event: unknown, path: string): unknown {
  let cur: unknown = event;
  for (const part of path.split(".")) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Throws QueryError when the query uses an unknown operator or a wrong operand. */
export function validateQuery(query: Query): void {
  for (const [key, value] of Object.entries(query)) {
    if (key === "$and" || key === "$or") {
      if (!Array.isArray(value)) throw new QueryError(`${key} needs a list of queries`);
      for (const q of value) validateQuery(q as Query);
    } else if (key.startsWith("$")) throw new QueryError(`Unknown operator '${key}'`);
    else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      for (const [op, operand] of Object.entries(value)) {
        if (!op.startsWith("$")) continue;
        if (!FIELD_OPS.has(op)) throw new QueryError(`Unknown operator '${op}' on '${key}'`);
        if ((op === "$in" || op === "$nin") && !Array.isArray(operand)) throw new QueryError(`${op} on '${key}' needs a list`);
        if (op === "$not") validateQuery({ [key]: operand } as Query);
      }
    }
  }
}

function matchField(actual: unknown, cond: unknown): boolean {
  if (typeof cond !== "object" || cond === null || Array.isArray(cond) || !Object.keys(cond).some((k) => k.startsWith("$"))) {
    return Array.isArray(actual) && !Array.isArray(cond) ? actual.includes(cond) : JSON.stringify(actual) === JSON.stringify(cond);
  }
  for (const [op, operand] of Object.entries(cond)) {
    const a = actual as number;
    const b = operand as number;
    switch (op) {
      case "$eq": if (!matchField(actual, operand)) return false; break;
      case "$ne": if (matchField(actual, operand)) return false; break;
      case "$gt": if (!(actual !== undefined && a > b)) return false; break;
      case "$gte": if (!(actual !== undefined && a >= b)) return false; break;
      case "$lt": if (!(actual !== undefined && a < b)) return false; break;
      case "$lte": if (!(actual !== undefined && a <= b)) return false; break;
      case "$in": if (!(operand as unknown[]).some((x) => matchField(actual, x))) return false; break;
      case "$nin": if ((operand as unknown[]).some((x) => matchField(actual, x))) return false; break;
      case "$exists": if ((actual !== undefined) !== Boolean(operand)) return false; break;
      case "$not": if (matchField(actual, operand)) return false; break;
    }
  }
  return true;
}

export function matchQuery(query: Query, event: unknown): boolean {
  for (const [key, value] of Object.entries(query)) {
    if (key === "$and") {
      if (!(value as Query[]).every((q) => matchQuery(q, event))) return false;
    } else if (key === "$or") {
      if (!(value as Query[]).some((q) => matchQuery(q, event))) return false;
    } else if (!matchField(getPath(event, key), value)) return false;
  }
  return true;
}

export interface LatchAnalyzerOptions extends AnalyzerOptions {
  /** true: latch everything; false: nothing; a query or a predicate function. */
  query?: boolean | Query | ((event: unknown) => boolean);
  /** BSPump's quirk, kept: latch when `match(event) != inclusive`, i.e. with true the NON-matching events. */
  inclusive?: boolean;
}

const CONFIG = {
  latch_max_size: { type: "int", default: 50, doc: "Events kept (0: unbounded)" },
} satisfies ConfigSpec;

/**
 * BSPump's LatchAnalyzer: keeps the last `latch_max_size` events (0: unbounded) that the query
 * selects, as a debugging window into a stream; events always pass through. Read `latch`.
 */
export class LatchAnalyzer extends Analyzer {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & Analyzer["config"];

  private readonly maxSize: number;
  private readonly test: (event: unknown) => boolean;
  private buffer: unknown[] = [];

  constructor(app: Application, pipeline: Pipeline, options: LatchAnalyzerOptions = {}) {
    super(app, pipeline, options);
    this.maxSize = this.config.getInt("latch_max_size");
    const query = options.query ?? true;
    const inclusive = options.inclusive ?? false;
    if (query === true) this.test = () => true;
    else if (query === false) this.test = () => false;
    else if (typeof query === "function") this.test = query;
    else {
      validateQuery(query);
      this.test = (event) => matchQuery(query, event) !== inclusive;
    }
  }

  override predicate(_context: EventContext, event: unknown): boolean {
    return this.test(event);
  }

  override evaluate(_context: EventContext, event: unknown): void {
    this.buffer.push(event);
    if (this.maxSize > 0 && this.buffer.length > this.maxSize) this.buffer.shift();
  }

  /** The latched events, oldest first. */
  get latch(): readonly unknown[] {
    return this.buffer;
  }

  clear(): void {
    this.buffer = [];
  }
}
