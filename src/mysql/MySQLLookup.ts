import { locateConnection, type Application, type ConfigSpec, type TypedConfig } from "../core/index.js";
import { AsyncLookup } from "../lookup/AsyncLookup.js";
import type { CachedLookupOptions } from "../lookup/LRUCacheDict.js";
import { SQL_LOOKUP_CONFIG, sqlLookupQueries } from "../lookup/sqlLookup.js";
import { MySQLConnection } from "./MySQLConnection.js";

const CONFIG = {
  ...AsyncLookup.ConfigDefaults,
  ...SQL_LOOKUP_CONFIG,
} satisfies ConfigSpec;

/**
 * Key → row from a MySQL table (BSPump's MySQLLookup): `lookup(key)` answers from a bounded LRU
 * cache, or runs `query_find_one` (a prepared statement) and caches the row — or the absence of one,
 * as BSPump does. `load()` counts the rows (`query_count`); `iterate()` streams every row
 * (`query_iter`) without filling the cache (BSPump filled it; here the cache stays bounded and warm). `{}` in the queries is replaced as BSPump does (find_one: statement, from, key; count: from;
 * iter: statement, from), and `%s` by the key.
 */
export class MySQLLookup extends AsyncLookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & AsyncLookup["config"];

  readonly connection: MySQLConnection;
  readonly findOne: string;
  readonly countQuery: string;
  readonly iterQuery: string;
  /** Rows in the table, as counted by the last load(). */
  count = 0;
  readonly mysqlCounts = { success: 0, notFound: 0 };

  constructor(app: Application, connection: string | MySQLConnection, id?: string, options: CachedLookupOptions = {}) {
    super(app, id ?? "MySQLLookup", options);
    this.connection = locateConnection(app, connection, MySQLConnection);
    ({ findOne: this.findOne, count: this.countQuery, iter: this.iterQuery } = sqlLookupQueries(this.config, "?"));
    app.metrics.addCollector(() => [{ name: "mysql.lookup", type: "counter", tags: { lookup: this.id }, fields: { ...this.mysqlCounts } }]);
  }

  static override ConnectionClass = MySQLConnection;

  protected async fetch(key: string): Promise<unknown> {
    const rows = (await this.connection.withRetry(async () => (await this.connection.pool.execute(this.findOne, [key]))[0])) as Record<string, unknown>[];
    const row = rows[0];
    if (row === undefined) {
      this.mysqlCounts.notFound++;
      return undefined;
    }
    this.mysqlCounts.success++;
    return row;
  }

  /** Counts the rows; the cache fills on demand. */
  override async load(): Promise<boolean> {
    const rows = (await this.connection.withRetry(() => this.connection.query(this.countQuery))) as Record<string, unknown>[];
    const first = rows[0] ?? {};
    const value = first.count ?? Object.values(first)[0];
    this.count = Number(value ?? 0);
    return false;
  }

  /** Streams every row (bounded memory) as [key, row]. */
  async *iterate(): AsyncGenerator<[string, Record<string, unknown>]> {
    const conn = await this.connection.acquire();
    const core = conn.connection as unknown as import("mysql2").Connection;
    const stream = core.query(this.iterQuery).stream({ highWaterMark: 1000 });
    const keyColumn = this.config.getString("key");
    let complete = false;
    try {
      for await (const row of stream as AsyncIterable<Record<string, unknown>>) {
        const key = String(row[keyColumn]);
        yield [key, row];
      }
      complete = true;
    } finally {
      if (complete) conn.release();
      else {
        stream.destroy();
        conn.destroy();
      }
    }
  }
}
