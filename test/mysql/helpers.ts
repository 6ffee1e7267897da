import { randomBytes } from "node:crypto";
import { createConnection, type Connection } from "mysql2/promise";
import { BSPumpApplication, Config } from "../../src/core/index.js";
import { MySQLConnection } from "../../src/mysql/index.js";

export const DB = { host: "127.0.0.1", port: 3306, user: "bspump", password: "bspump", database: "bspump" };

export function uniqueTable(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

const apps: BSPumpApplication[] = [];

/** Stops every app a test made (a failed test leaves none running, so the file can end). */
export function stopApps(): void {
  for (const app of apps.splice(0)) if (app.isRunning) app.stop(1);
}

export function makeApp(connectionConfig: Record<string, string | number | boolean> = {}): { app: BSPumpApplication; connection: MySQLConnection } {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("", "<test>"), handleSignals: false });
  app.logs.defaultLevel = "error";
  apps.push(app);
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

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(check: () => boolean | Promise<boolean>, seconds = 20, what = "condition"): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not met in ${seconds} s`);
    await sleep(20);
  }
}
