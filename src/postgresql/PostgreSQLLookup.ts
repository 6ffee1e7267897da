import { locateConnection, dependency, type Application, type ConfigSpec, type TypedConfig } from "../core/index.js";
import type Cursor from "pg-cursor";
import { AsyncLookup } from "../lookup/AsyncLookup.js";
import type { CachedLookupOptions } from "../lookup/LRUCacheDict.js";
import { SQL_LOOKUP_CONFIG, sqlLookupQueries } from "../lookup/sqlLookup.js";
import { PostgreSQLConnection } from "./PostgreSQLConnection.js";

const PgCursor = dependency<typeof Cursor>("pg-cursor");

const CONFIG = {
  ...AsyncLookup.ConfigDefaults,
  ...SQL_LOOKUP_CONFIG,
  query_count: { ...SQL_LOOKUP_CONFIG.query_count, default: 'SELECT COUNT(*) as "count" FROM {};' },
} satisfies ConfigSpec;

/**
 * Key → row from a PostgreSQL table (BSPump's PostgreSQLLookup). The bounded LRU cache, shared
 * misses and cached absences are AsyncLookup's (as for MySQLLookup); this class only fetches:
 * `query_find_one` for one key, `query_count` on load, `query_iter` streamed with a cursor by
 * `iterate()`. `{}` in the queries is replaced as BSPump does (find_one: statement, from, key;
 * count: from; iter: statement, from), and `%s` by the key.
 */
export class PostgreSQLLookup extends AsyncLookup {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & AsyncLookup["config"];

  static override ConnectionClass = PostgreSQLConnection;

  readonly connection: PostgreSQLConnection;
  readonly findOne: string;
  readonly countQuery: string;
  readonly iterQuery: string;
  /** Rows in the table, as counted by the last load(). */
  count = 0;
  readonly postgresCounts = { success: 0, notFound: 0 };

  constructor(app: Application, connection: string | PostgreSQLConnection, id?: string, options: CachedLookupOptions = {}) {
    super(app, id ?? "PostgreSQLLookup", options);
    this.connection = locateConnection(app, connection, PostgreSQLConnection);
    ({ findOne: this.findOne, count: this.countQuery, iter: this.iterQuery } = sqlLookupQueries(this.config, "$$1"));
    app.metrics.addCollector(() => [{ name: "postgres.lookup", type: "counter", tags: { lookup: this.id }, fields: { ...this.postgresCounts } }]);
  }

  protected async fetch(key: string): Promise<unknown> {
    const row = (await this.connection.query(this.findOne, [key]))[0];
    if (row === undefined) {
      this.postgresCounts.notFound++;
      return undefined;
    }
    this.postgresCounts.success++;
    return row;
  }

  /** Counts the rows; the cache fills on demand. */
  override async load(): Promise<boolean> {
    const first = (await this.connection.query(this.countQuery))[0] ?? {};
    this.count = Number(first.count ?? Object.values(first)[0] ?? 0);
    return false;
  }

  /** Streams every row (bounded memory, a cursor) as [key, row]. */
  async *iterate(): AsyncGenerator<[string, Record<string, unknown>]> {
    const client = await this.connection.acquire();
    const cursor = client.query(new (PgCursor())(this.iterQuery));
    const keyColumn = this.config.getString("key");
    try {
      for (;;) {
        const rows = (await cursor.read(1000)) as Record<string, unknown>[];
        if (rows.length === 0) return;
        for (const row of rows) yield [String(row[keyColumn]), row];
      }
    } finally {
      await cursor.close().catch(() => {});
      client.release();
    }
  }
}
