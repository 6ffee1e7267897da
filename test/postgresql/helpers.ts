import { spawnSync } from "node:child_process";
import pg from "pg";
import type { BSPumpApplication } from "../../src/core/index.js";
import { PostgreSQLConnection } from "../../src/postgresql/index.js";
import { trackedApp } from "../helpers/components.js";

export const DB = { host: "127.0.0.1", port: 5432, user: "bspump", password: "bspump", database: "bspump" };

/** A tracked app (see stopApps() in test/helpers/components.ts) with a PostgreSQLConnection to the test database. */
export function makeApp(connectionConfig: Record<string, string | number | boolean> = {}, id = "PostgreSQLConnection"): { app: BSPumpApplication; connection: PostgreSQLConnection } {
  const app = trackedApp();
  const connection = new PostgreSQLConnection(app, id, {
    config: { host: DB.host, port: DB.port, user: DB.user, password: DB.password, db: DB.database, ...connectionConfig },
  });
  app.pumpService.addConnection(connection);
  return { app, connection };
}

/** A test-side client (pg) to set up tables and changes. */
export async function client(database = DB.database): Promise<pg.Client> {
  const c = new pg.Client({ ...DB, database });
  await c.connect();
  return c;
}

/** Runs SQL with `psql` (the stock client, not the code under test) and returns its unaligned output lines. */
export function psql(sql: string, database = DB.database): string[] {
  const r = spawnSync("psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", DB.host, "-p", String(DB.port), "-U", DB.user, "-d", database, "-c", sql], {
    env: { ...process.env, PGPASSWORD: DB.password },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l !== "");
}
