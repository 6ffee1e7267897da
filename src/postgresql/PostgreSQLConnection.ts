import { readFileSync } from "node:fs";
import type { ClientConfig, Pool, PoolClient } from "pg";
import type { ConnectionOptions } from "node:tls";
import { Connection, ConfigError, toError, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, dependency } from "../core/index.js";

const pg = dependency<typeof import("pg")>("pg");

/**
 * SQLSTATEs worth retrying (BSPump's RetryErrors were the connection-type ones): class 08
 * (connection exception), serialization failures and deadlocks, lock timeouts, too many
 * connections, the server shutting down or starting, and a backend terminated by an administrator
 * (57P01, what `pg_terminate_backend` gives).
 */
const RETRY_STATES = new Set(["40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03", "58030"]);
/** Node-level error codes of a lost or refused connection. */
const RETRY_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN"]);

/** True when the error is transient (connection lost, deadlock, server restarting) and the work should be retried. */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e.code === "string") {
    if (e.code.startsWith("08") || RETRY_STATES.has(e.code) || RETRY_CODES.has(e.code)) return true;
  }
  // pg reports a connection closed under a query without a code.
  return typeof e.message === "string" && /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(e.message);
}

/** The database's message with its SQLSTATE and detail, for warnings and dead letters. */
export function describeError(error: unknown): string {
  const e = toError(error) as Error & { code?: string; detail?: string };
  let text = e.message;
  if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) text += ` (SQLSTATE ${e.code})`;
  if (e.detail) text += `: ${e.detail}`;
  return text;
}

/** pg's int8 parser, but as a number when it fits exactly (a string otherwise, never a lossy number). */
export function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

const CONFIG = {
  host: { type: "string", default: "127.0.0.1", doc: "Server host" },
  port: { type: "int", default: 5432, doc: "Server port" },
  user: { type: "string", default: "", doc: "User name" },
  password: { type: "string", default: "", doc: "Password", secret: true },
  db: { type: "string", default: "", doc: "Database" },
  connect_timeout: { type: "int", default: 60, doc: "Seconds to wait for a connection" },
  reconnect_delay: { type: "float", default: 5.0, doc: "Longest wait between retries after a transient error, seconds" },
  output_queue_max_size: { type: "int", default: 10, doc: "Bulks waiting to be written above which a sink throttles its pipeline" },
  max_bulk_size: { type: "int", default: 1000, doc: "Rows per bulk (BSPump: 1, as aiopg had no executemany; here bulks are COPY or multi-row INSERT)" },
  flush_period: { type: "float", default: 1.0, doc: "Seconds after which a partly filled bulk is written (BSPump had no timed flush [BUG])" },
  connection_pool_maxsize: { type: "int", default: 10, doc: "Connections in the pool, at most" },
  idle_timeout: { type: "float", default: 30, doc: "Seconds an idle pooled connection is kept" },
  sslmode: { type: "string", default: "disable", choices: ["disable", "require", "verify-ca", "verify-full"], doc: "TLS: none; encrypted without checking the server; CA checked; CA and host name checked" },
  sslrootcert: { type: "string", default: "", doc: "CA certificate file (PEM) for verify-ca / verify-full" },
  sslcert: { type: "string", default: "", doc: "Client certificate file (PEM)" },
  sslkey: { type: "string", default: "", doc: "Client key file (PEM)" },
  application_name: { type: "string", default: "bspump", doc: "Shown in pg_stat_activity" },
} satisfies ConfigSpec;

/**
 * A pool of connections to PostgreSQL (pg), shared by the PostgreSQL sources, sinks and lookups,
 * from `[connection:<id>]` with BSPump's keys; the write keys (`max_bulk_size`,
 * `output_queue_max_size`, `flush_period`) are the defaults of the sinks that use it. TLS with
 * `sslmode` (libpq's names) and files for the CA, certificate and key.
 */
export class PostgreSQLConnection extends Connection {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  readonly pool: Pool;
  readonly reconnectDelay: number;
  /** Transient errors met by the components that use this connection (retried). */
  retries = 0;

  constructor(app: Application, id?: string, options: Omit<ComponentOptions, "id"> = {}) {
    super(app, id ?? "PostgreSQLConnection", options);
    this.reconnectDelay = Math.max(0.05, this.config.getFloat("reconnect_delay"));
    this.pool = new (pg().Pool)({
      ...this.clientConfig(),
      max: Math.max(1, this.config.getInt("connection_pool_maxsize")),
      idleTimeoutMillis: Math.max(0, this.config.getFloat("idle_timeout")) * 1000,
    });
    // An idle pooled connection that the server closed (restart, pg_terminate_backend) emits here;
    // without a listener that would crash the process. The pool drops it and opens a new one.
    this.pool.on("error", (e) => this.log.warn(`Idle PostgreSQL connection lost: ${toError(e).message}`));
  }

  /** The settings of one pg client (also used for the replication connection). */
  clientConfig(): ClientConfig {
    const c = this.config;
    return {
      host: c.getString("host"),
      port: c.getInt("port"),
      user: c.getString("user") || undefined,
      password: c.getString("password") || undefined,
      database: c.getString("db") || undefined,
      connectionTimeoutMillis: c.getInt("connect_timeout") * 1000,
      application_name: c.getString("application_name"),
      ssl: this.tls(),
      types: { getTypeParser: typeParser },
    };
  }

  private tls(): ConnectionOptions | false {
    const c = this.config;
    const mode = c.getString("sslmode");
    if (mode === "disable") return false;
    const read = (key: "sslrootcert" | "sslcert" | "sslkey"): string | undefined => {
      const path = c.getString(key);
      if (!path) return undefined;
      try {
        return readFileSync(path, "utf8");
      } catch (e) {
        throw new ConfigError(`[${c.section}] ${key}: cannot read ${path}: ${toError(e).message}`);
      }
    };
    const options: ConnectionOptions = { ca: read("sslrootcert"), cert: read("sslcert"), key: read("sslkey"), rejectUnauthorized: mode !== "require" };
    // verify-ca checks the chain but not the host name (libpq's meaning).
    if (mode === "verify-ca") options.checkServerIdentity = () => undefined;
    return options;
  }

  /** A pooled client; `release()` it when done, `release(error)` to drop it after a failure. */
  acquire(): Promise<PoolClient> {
    return this.pool.connect();
  }

  /** Runs one statement on a pooled connection; the rows of a SELECT. */
  async query(sql: string, values?: unknown[]): Promise<Record<string, unknown>[]> {
    const result = await this.pool.query(sql, values);
    return result.rows as Record<string, unknown>[];
  }

  /** Counts a transient error and gives the backoff delay after `attempt` failures (0.1 s doubling up to `reconnect_delay`). */
  transient(error: unknown, attempt: number): number {
    this.retries++;
    const delay = Math.min(this.reconnectDelay, 0.1 * 2 ** attempt);
    this.log.warn(`PostgreSQL error, retrying in ${delay.toFixed(1)} s: ${describeError(error)}`);
    return delay;
  }

  override async finalize(): Promise<void> {
    await this.pool.end().catch((e: unknown) => this.log.warn(`Closing the pool: ${toError(e).message}`));
  }
}

/** pg's parsers, with int8 (oid 20) as a number when exact. */
function typeParser(oid: number, format?: "text" | "binary"): (value: string) => unknown {
  if (oid === 20 && format !== "binary") return parseInt8;
  return pg().types.getTypeParser(oid, format ?? "text") as (value: string) => unknown;
}
