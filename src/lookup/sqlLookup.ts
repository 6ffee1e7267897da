import type { ConfigSpec, ResolvedConfig } from "../core/index.js";

/**
 * The keys and query templates BSPump's SQL lookups share (MySQLLookup, PostgreSQLLookup): a
 * database family spreads them into its config (overriding a default where its SQL differs) and
 * turns them into statements with `sqlLookupQueries`.
 */
export const SQL_LOOKUP_CONFIG = {
  statement: { type: "string", default: "*", doc: "Columns to select" },
  from: { type: "string", default: "", required: true, doc: "Table or join expression" },
  key: { type: "string", default: "", required: true, doc: "Key column" },
  query_find_one: { type: "string", default: "SELECT {} FROM {} WHERE {}=%s;", doc: "Statement for one key" },
  query_count: { type: "string", default: "SELECT COUNT(*) as 'count' FROM {};", doc: "Statement that counts the rows" },
  query_iter: { type: "string", default: "SELECT {} FROM {};", doc: "Statement that reads every row" },
} satisfies ConfigSpec;

export interface SqlLookupQueries {
  findOne: string;
  count: string;
  iter: string;
}

/**
 * The statements, formatted as BSPump formats them — `{}` in order: find_one(statement, from,
 * key), count(from), iter(statement, from) — with `%s` replaced by the driver's `placeholder`.
 */
export function sqlLookupQueries(config: ResolvedConfig, placeholder: string): SqlLookupQueries {
  const statement = config.getString("statement");
  const from = config.getString("from");
  const key = config.getString("key");
  const fill = (query: string, ...parts: string[]): string => query.replace(/\{\}/g, () => parts.shift() ?? "").replace(/%s/g, placeholder);
  return {
    findOne: fill(config.getString("query_find_one"), statement, from, key),
    count: fill(config.getString("query_count"), from),
    iter: fill(config.getString("query_iter"), statement, from),
  };
}
