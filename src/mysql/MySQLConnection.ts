import type { Pool, PoolConnection } from "mysql2/promise";
import { Connection, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, dependency } from "../core/index.js";

const mysql2 = dependency<typeof import("mysql2/promise")>("mysql2/promise");

/** MySQL error codes worth retrying (BSPump's RetryErrors): lost connections, deadlocks, lock timeouts, shutdowns. */
export const RETRY_ERRORS = new Set([1047, 1053, 1077, 1078, 1079, 1080, 2003, 2006, 2012, 2013, 1152, 1205, 1213, 1223]);
/** Node-level error codes of a lost or refused connection (also retried). */
const RETRY_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "PROTOCOL_CONNECTION_LOST", "ENOTFOUND", "EHOSTUNREACH", "PROTOCOL_SEQUENCE_TIMEOUT"]);

/** True when the error is transient (connection lost, deadlock, …) and the statement should be retried. */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { errno?: unknown; code?: unknown; fatal?: unknown };
  if (typeof e.errno === "number" && RETRY_ERRORS.has(e.errno)) return true;
  if (typeof e.code === "string" && RETRY_CODES.has(e.code)) return true;
  return e.fatal === true;
}

/** A bulk statement: BSPump's `INSERT … VALUES (%s, %s)` becomes one multi-row `INSERT … VALUES ?`. */
export interface PreparedWrite {
  /** The SQL with `?` placeholders for one row (prepared statement). */
  perRow: string;
  /** The multi-row form (`VALUES ?`), or null when the statement is not a plain INSERT/REPLACE … VALUES. */
  bulk: string | null;
  /** Placeholders per row. */
  arity: number;
}

const VALUES_TUPLE = /\bVALUES\s*\(\s*%s(?:\s*,\s*%s)*\s*\)/i;

export function prepareWrite(query: string): PreparedWrite {
  const arity = (query.match(/%s/g) ?? []).length;
  const perRow = query.replace(/%s/g, "?").replace(/%%/g, "%");
  let bulk: string | null = null;
  if (/^\s*(INSERT|REPLACE)\b/i.test(query)) {
    const m = VALUES_TUPLE.exec(query);
    // Only when every placeholder sits in the VALUES tuple (an ON DUPLICATE KEY UPDATE may use VALUES(col)).
    if (m && (m[0].match(/%s/g) ?? []).length === arity) {
      bulk = (query.slice(0, m.index) + "VALUES ?" + query.slice(m.index + m[0].length)).replace(/%%/g, "%");
    }
  }
  return { perRow, bulk, arity };
}

const CONFIG = {
  host: { type: "string", default: "localhost", doc: "Server host" },
  port: { type: "int", default: 3306, doc: "Server port" },
  user: { type: "string", default: "", doc: "User name" },
  password: { type: "string", default: "", doc: "Password" },
  db: { type: "string", default: "", doc: "Database (schema)" },
  connect_timeout: { type: "int", default: 10, doc: "Seconds to wait for a connection" },
  reconnect_delay: { type: "float", default: 5.0, doc: "Longest wait between retries of a statement that failed transiently, seconds" },
  output_queue_max_size: { type: "int", default: 100, doc: "Bulks waiting to be written above which a sink throttles its pipeline" },
  max_bulk_size: { type: "int", default: 5, doc: "Rows per bulk INSERT" },
  flush_period: { type: "float", default: 1.0, doc: "Seconds after which a partly filled bulk is written (BSPump had no timed flush [BUG])" },
  autocommit: { type: "bool", default: true, doc: "Autocommit mode of pooled connections (writes are committed explicitly either way)" },
  connection_pool_minsize: { type: "int", default: 1, doc: "Idle connections kept in the pool" },
  connection_pool_maxsize: { type: "int", default: 10, doc: "Connections in the pool, at most" },
} satisfies ConfigSpec;

/**
 * A pool of connections to MySQL or MariaDB (mysql2), shared by MySQL sources, sinks and lookups.
 * Configured from `[connection:<id>]` with BSPump's keys; the write keys (`max_bulk_size`,
 * `output_queue_max_size`, `flush_period`) are the defaults of the sinks that use it.
 */
export class MySQLConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly pool: Pool;
  readonly autocommit: boolean;
  /** Statements retried after a transient error. */
  retries = 0;
  readonly reconnectDelay: number;

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id ?? "MySQLConnection", options);
    this.autocommit = this.config.getBool("autocommit");
    this.reconnectDelay = Math.max(0.05, this.config.getFloat("reconnect_delay"));
    const max = Math.max(1, this.config.getInt("connection_pool_maxsize"));
    this.pool = mysql2().createPool({
      host: this.config.getString("host"),
      port: this.config.getInt("port"),
      user: this.config.getString("user") || undefined,
      password: this.config.getString("password") || undefined,
      database: this.config.getString("db") || undefined,
      connectTimeout: this.config.getInt("connect_timeout") * 1000,
      connectionLimit: max,
      maxIdle: Math.min(max, Math.max(0, this.config.getInt("connection_pool_minsize"))),
      waitForConnections: true,
      supportBigNumbers: true,
    });
    this.pool.pool.on("connection", (c) => {
      if (!this.autocommit) c.query("SET autocommit=0");
    });
  }

  /** Where and as whom to connect, for a client that opens its own connections (the binlog reader). */
  clientOptions(): { host: string; port: number; user?: string; password?: string; connectTimeout: number } {
    return {
      host: this.config.getString("host"),
      port: this.config.getInt("port"),
      user: this.config.getString("user") || undefined,
      password: this.config.getString("password") || undefined,
      connectTimeout: this.config.getInt("connect_timeout") * 1000,
    };
  }

  /** A pooled connection; call `release()` when done (or `destroy()` after an interrupted query). */
  acquire(): Promise<PoolConnection> {
    return this.pool.getConnection();
  }

  /** Runs one statement on a pooled connection (rows for SELECT). */
  async query(sql: string, values?: unknown[]): Promise<unknown> {
    const [rows] = await this.pool.query(sql, values);
    return rows;
  }

  /**
   * Writes rows with a prepared write: one multi-row statement when possible, else one prepared
   * statement per row in a transaction. Committed before it resolves. Throws on failure.
   */
  async write(prepared: PreparedWrite, rows: unknown[][]): Promise<void> {
    const conn = await this.acquire();
    try {
      if (prepared.bulk !== null && rows.length > 1) {
        await conn.query(prepared.bulk, [rows]);
        if (!this.autocommit) await conn.commit();
      } else {
        await conn.beginTransaction();
        try {
          for (const row of rows) await conn.execute(prepared.perRow, row as never[]);
          await conn.commit();
        } catch (e) {
          await conn.rollback().catch(() => {});
          throw e;
        }
      }
      conn.release();
    } catch (e) {
      // A connection that failed at the network level is not given back to the pool.
      if (isRetryable(e)) conn.destroy();
      else conn.release();
      throw e;
    }
  }

  /**
   * Retries `attempt` while it fails transiently (BSPump's RetryErrors), waiting from 0.1 s up to
   * `reconnect_delay`; gives up when `shouldStop()` says so, rethrowing the last error.
   */
  async withRetry<T>(attempt: () => Promise<T>, shouldStop: () => boolean = () => false): Promise<T> {
    let delay = 0.1;
    for (;;) {
      try {
        return await attempt();
      } catch (e) {
        if (!isRetryable(e) || shouldStop()) throw e;
        this.retries++;
        this.log.warn(`MySQL error, retrying in ${delay.toFixed(1)} s: ${toError(e).message}`);
        await new Promise((r) => setTimeout(r, delay * 1000));
        delay = Math.min(this.reconnectDelay, delay * 2);
      }
    }
  }

  override async finalize(): Promise<void> {
    await this.pool.end().catch((e: unknown) => this.log.warn(`Closing the pool: ${toError(e).message}`));
  }
}
