import { createConnection, type Connection } from "mysql2/promise";
import type { BSPumpApplication } from "../../src/core/index.js";
import { MySQLConnection } from "../../src/mysql/index.js";
import { trackedApp } from "../helpers/components.js";

export const DB = { host: "127.0.0.1", port: 3306, user: "bspump", password: "bspump", database: "bspump" };

/** A tracked app (see stopApps() in test/helpers/components.ts) with a MySQLConnection to the test database. */
export function makeApp(connectionConfig: Record<string, string | number | boolean> = {}): { app: BSPumpApplication; connection: MySQLConnection } {
  const app = trackedApp();
  const connection = new MySQLConnection(app, "MySQLConnection", {
    config: { host: DB.host, port: DB.port, user: DB.user, password: DB.password, db: DB.database, ...connectionConfig },
  });
  app.pumpService.addConnection(connection);
  return { app, connection };
}

/** A test-side connection to check what was written. */
export function client(): Promise<Connection> {
  return createConnection(DB);
}
